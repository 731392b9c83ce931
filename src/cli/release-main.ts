// The release's `portproof` executable: the commands a workstation or host needs without a checkout.
import { Commands } from './commands.ts';
import { dispatch } from './dispatch.ts';

const Portable = ['init', 'bundle', 'why', 'owners'];

void dispatch(
  process.argv.slice(2),
  Object.fromEntries(Object.entries(Commands).filter(([name]) => Portable.includes(name))),
).then((code) => {
  process.exitCode = code;
});
