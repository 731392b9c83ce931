import { readProcessInfo } from '../procfs/index.ts';
import { runCommand } from '../run-command.ts';
import { parseSs, type TcpConnection } from './parse-ss.ts';

/** How long one `ss` may take before the look counts as failed. */
const SsTimeoutMs = 5000;

/** One look at a port's established connections: both ends where the peer is on this host; or why there is none. */
export type ConnectionsReading =
  | { ok: true; connections: TcpConnection[]; tookMs: number }
  | { ok: false; why: string };

/** The argv of one look: established sockets with `port` at either end, tcp_info, one line each; -p adds owners. */
export function ssArgv(port: number, owners: boolean): string[] {
  const filter = ['(', 'sport', '=', `:${port}`, 'or', 'dport', '=', `:${port}`, ')'];
  return ['ss', owners ? '-tinpHO' : '-tinHO', 'state', 'established', ...filter];
}

/** Run `ss` (from PATH) for `port`; `owners` names the process at each end (it reads every process's fds). */
export async function readConnections(port: number, owners: boolean): Promise<ConnectionsReading> {
  const startedAt = performance.now();
  const run = await runCommand(ssArgv(port, owners), SsTimeoutMs);
  const tookMs = performance.now() - startedAt;
  if (run.error?.endsWith('not found')) return { ok: false, why: 'ss not found: install iproute2' };
  if (run.error || run.code !== 0) return { ok: false, why: `ss failed: ${run.error ?? run.output.split('\n')[0]}` };
  return { ok: true, connections: parseSs(run.stdout), tookMs };
}

/** Of the nginx processes among `pids`, the workers an nginx reload has retired ("worker process is shutting down"). */
export function findOldNginxWorkers(pids: number[]): Set<number> {
  const old = new Set<number>();
  for (const pid of pids) {
    // Gone since ss saw it: it has finished shutting down, and holds nothing now.
    const command = readProcessInfo(pid)?.command ?? '';
    if (command.includes('nginx: worker process is shutting down')) old.add(pid);
  }
  return old;
}
