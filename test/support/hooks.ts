import path from 'node:path';
import type { HookEntry } from '../../src/core/events.ts';

const repo = path.resolve(import.meta.dirname, '../..');

/** The compiled hook for this machine, as `npm run build` leaves it in hooks/. */
export function hookPath(name: HookEntry): string {
  return path.join(repo, 'hooks', name);
}

/** How tests run a hook: the compiled binary, or from source when PORTPROOF_TEST_FROM_SOURCE=1 (quick iteration). */
export function hookArgv(name: HookEntry): string[] {
  if (process.env.PORTPROOF_TEST_FROM_SOURCE === '1')
    return [process.execPath, path.join(repo, 'bin/portproof.js'), name];
  return [hookPath(name)];
}
