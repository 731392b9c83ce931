import path from 'node:path';
import { readTimeWaitLoad } from '../core/procfs/index.ts';
import { pollUntil } from './net.ts';
import { type AppProcess, spawnTracked } from './processes.ts';

// A busy host's TCP table on demand, for the tests and the benchmark alike. The filler is a plain .mjs file beside
// this one (as the hammer's worker is): it runs in its own Node process, with no TypeScript loader.

const Filler = path.join(import.meta.dirname, 'time-wait-filler.mjs');

/** Start the filler and wait until the table holds `rows` TIME_WAIT rows; it keeps them there until stopAll. */
export async function fillTimeWait(rows: number, timeoutMs: number): Promise<AppProcess> {
  const filler = spawnTracked([process.execPath, Filler, `--rows=${rows}`]);
  await pollUntil(() => filler.stdout().includes('filled'), timeoutMs, `the TIME_WAIT filler (${filler.output()})`);
  return filler;
}

/** The namespace's TIME_WAIT count, as the kernel keeps it (/proc/net/sockstat). */
export function countTimeWaitRows(): number {
  return readTimeWaitLoad()?.rows ?? 0;
}
