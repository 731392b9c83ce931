import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { HookEntries } from '../../core/events.ts';
import { runRehearsal } from '../../rehearsal/demo.ts';

const repo = path.resolve(import.meta.dirname, '../../..');

/** `portproof demo` (npm start): build the hooks if needed, then rehearse two deployments locally. */
export async function run(argv: string[]): Promise<number> {
  if (argv.length > 0) {
    console.error(`portproof demo: takes no arguments (got ${argv.join(' ')})`);
    return 2;
  }
  const hooksDir = path.join(repo, 'hooks');
  if (!HookEntries.every((name) => fs.existsSync(path.join(hooksDir, name)))) {
    // This machine's arch only: the rehearsal runs them here, and arm64 would need the cross binutils too.
    const arch = process.arch === 'arm64' ? 'arm64' : 'x64';
    console.log(`The compiled hooks are missing: building them first (portproof build --arch ${arch}).`);
    const build = spawnSync(process.execPath, [path.join(repo, 'bin/portproof.js'), 'build', '--arch', arch], {
      stdio: 'inherit',
    });
    if (build.status !== 0) return 1;
  }
  fs.mkdirSync(path.join(repo, '.cache'), { recursive: true });
  console.log(
    "portproof rehearsal: examples/sample-app deployed twice through the compiled hooks, in CodeDeploy's order",
  );
  return runRehearsal(hooksDir, (line) => console.log(line));
}
