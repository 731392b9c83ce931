import { describeArgsError } from '../dispatch.ts';
import { parseArgs } from 'node:util';
import { describeProcess } from '../../core/process/describe.ts';
import { findListeners } from '../../core/procfs/index.ts';

/** `portproof owners PORT [--json]`: each listener on the port with every process that holds it. */
export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: 'boolean', default: false } } });
  } catch (error) {
    console.error(`portproof owners: ${describeArgsError(error)} (see --help)`);
    return 2;
  }
  const [text, extra] = parsed.positionals;
  const port = Number(text);
  if (text === undefined || extra !== undefined || !/^\d+$/.test(text) || port < 1 || port > 65535) {
    const given = [text, extra].filter(Boolean).join(' ');
    const problem = text === undefined ? 'needs a PORT' : `"${given}" is not a port (1-65535)`;
    console.error(`portproof owners: ${problem}; usage: portproof owners PORT [--json]`);
    return 2;
  }
  const { listeners, skipped } = findListeners(port);
  if (parsed.values.json) {
    const doc = {
      port,
      listeners: listeners.map((l) => ({
        address: l.address,
        family: l.family,
        inode: l.inode,
        owners: l.owners.map((o) => ({ pid: o.pid, startTime: o.startTime, user: o.user, command: o.command })),
      })),
      skipped,
    };
    console.log(JSON.stringify(doc));
    return 0;
  }
  if (listeners.length === 0) console.log(`nothing listens on port ${port}`);
  for (const listener of listeners) {
    const where = listener.family === 6 ? `[${listener.address}]:${port}` : `${listener.address}:${port}`;
    console.log(`${where} (socket ${listener.inode})`);
    if (listener.owners.length === 0) console.log('  owner cannot be read (run as root to see every process)');
    for (const owner of listener.owners) console.log(`  ${describeProcess(owner)} fd ${owner.fd}`);
  }
  const denied = skipped.filter((s) => s.reason === 'permission').length;
  if (denied > 0) console.log(`(${denied} processes could not be inspected without root)`);
  return 0;
}
