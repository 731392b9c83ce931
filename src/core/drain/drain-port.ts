import { DefaultDrainPollMs } from '../defaults.ts';
import type { Progress } from '../progress.ts';
import { pollUntil } from '../wait.ts';
import { connectionKey, DefaultThresholds, type ClassifyThresholds } from './classify.ts';
import type { TcpConnection } from './parse-ss.ts';
import { findOldNginxWorkers, readConnections } from './read-connections.ts';
import { DrainTally, type BusyConnection } from './tally.ts';

/** Why the drain ended: nothing busy, stop.drain ran out, or the hook's own deadline came first. */
export type DrainEnd = 'quiet' | 'drain' | 'deadline';

/** A busy connection left at the end, and the nginx worker at its other end if one was (an old one: after a reload). */
export interface CutConnection extends BusyConnection {
  via?: 'nginx worker' | 'old nginx worker';
}

/** What the stop's drain saw and did, for the verdict and the JSON log. */
export interface DrainReport {
  port: number;
  /** Whether the connections could be classified at all (no `ss`: not, and the stop does not wait). */
  classified: boolean;
  notClassified?: string;
  drainMs: number;
  waitedMs: number;
  endedBy: DrainEnd;
  /** Busy at the first look and finished before the signal. */
  finished: { requests: number; streams: number };
  /** Still busy when the signal went: what the stop cut. */
  cut: CutConnection[];
  /** Idle keep-alive connections at the end: they never hold a stop. */
  idle: number;
  /** Connections at the first look whose other end was an nginx worker, and of those an old worker's. */
  viaNginx: number;
  viaOldNginx: number;
  /** What the first look (ss, and the classification) took: all an idle stop pays. */
  firstLookMs: number;
}

/** How long the drain may wait: stop.drain, the end of the time the stop may use, and the tunables. */
export interface DrainOptions {
  drainMs: number;
  /** The drain ends by then at the latest (the hook's deadline, less the time the stop itself needs). */
  untilMs: number;
  out: Progress;
  thresholds?: ClassifyThresholds;
  pollMs?: number;
}

/**
 * Before a stop signal: classify the established connections of the app on `port` and wait while any carries a
 * request or a stream, up to stop.drain or `untilMs`. Idle connections never hold it. The report says what finished
 * and what the signal will cut.
 */
export async function drainPort(port: number, options: DrainOptions): Promise<DrainReport> {
  const startedAt = Date.now();
  const tally = new DrainTally(options.thresholds ?? DefaultThresholds);
  // The first look names no owners: `ss -p` reads every process's fds, worth it only when something is busy.
  const first = await readConnections(port, false);
  const base = { port, drainMs: options.drainMs, finished: tally.finished, viaNginx: 0, viaOldNginx: 0 };
  if (!first.ok) {
    options.out.say(`Not draining port ${port}: its connections cannot be classified (${first.why})`);
    const none = { waitedMs: 0, endedBy: 'quiet' as const, cut: [], idle: 0, firstLookMs: 0 };
    return { ...base, ...none, classified: false, notClassified: first.why };
  }
  tally.observe(serverEnds(port, first.connections), Date.now());
  const firstLookMs = Date.now() - startedAt;
  const owned = tally.busyCount() > 0 ? await readConnections(port, true) : null;
  if (owned?.ok) tally.observe(serverEnds(port, owned.connections), Date.now());
  const via = owned?.ok ? describePeers(port, owned.connections) : new Map<string, CutConnection['via']>();
  const viaNginx = [...via.values()].length;
  const viaOldNginx = [...via.values()].filter((v) => v === 'old nginx worker').length;
  const until = Math.min(startedAt + options.drainMs, options.untilMs);
  // The drain waits for what was busy when it began, until each finishes once: requests that arrive meanwhile (in
  // place, with no load balancer to hold them back) would keep it waiting to the end; the signal's cut counts them.
  const waitFor = new Set(tally.busyKeys());
  const busyAtFirst = waitFor.size;
  if (busyAtFirst > 0 && Date.now() < until) {
    const old = viaOldNginx > 0 ? ` (${viaOldNginx} through old nginx workers)` : '';
    options.out.begin(`Draining port ${port}: ${busyAtFirst} connection(s) busy${old}`, { port, busy: busyAtFirst });
    await pollUntil(
      async () => {
        const look = await readConnections(port, false);
        // A look that fails midway (ss killed by the agent's SIGTERM to the hook's group, out of memory) is skipped:
        // ending the drain on it would signal the app while the hook is being interrupted.
        if (!look.ok) return undefined;
        // A keep-alive that finished its request and took the next one is not waited for again.
        for (const key of tally.observe(serverEnds(port, look.connections), Date.now())) waitFor.delete(key);
        return tally.busyKeys().some((key) => waitFor.has(key)) ? undefined : true;
      },
      until,
      { intervalMs: options.pollMs ?? DefaultDrainPollMs, onTick: () => options.out.progress(startedAt, until) },
    );
  }
  const now = Date.now();
  const cut = tally.listBusy(now).map((b) => {
    const peerVia = via.get(b.peer);
    return peerVia ? { ...b, via: peerVia } : b;
  });
  const limitedByDeadline = options.untilMs < startedAt + options.drainMs;
  const waitedFor = tally.busyKeys().some((key) => waitFor.has(key));
  const endedBy: DrainEnd = !waitedFor ? 'quiet' : limitedByDeadline ? 'deadline' : 'drain';
  const waitedMs = busyAtFirst > 0 ? now - startedAt : 0;
  return { ...base, classified: true, waitedMs, endedBy, cut, idle: tally.idle, viaNginx, viaOldNginx, firstLookMs };
}

/** The app's ends: connections whose local port is the app's (the clients' ends on this host are also listed). */
function serverEnds(port: number, connections: TcpConnection[]): TcpConnection[] {
  return connections.filter((c) => c.localPort === port);
}

/** For each server end whose peer is an nginx worker on this host: its peer address → which kind of worker. */
function describePeers(port: number, connections: TcpConnection[]): Map<string, 'nginx worker' | 'old nginx worker'> {
  const clientEnds = new Map(connections.filter((c) => c.peerPort === port).map((c) => [c.local, c]));
  const nginx = new Map<string, number[]>();
  for (const server of serverEnds(port, connections)) {
    const client = clientEnds.get(server.peer);
    // A peer on another host, or one ss could not name (not root): not known to be nginx.
    const pids = (client?.owners ?? []).filter((o) => o.name === 'nginx').map((o) => o.pid);
    if (client && pids.length > 0 && connectionKey(client) === `${server.peer} ${server.local}`)
      nginx.set(server.peer, pids);
  }
  const old = findOldNginxWorkers([...new Set([...nginx.values()].flat())]);
  return new Map(
    [...nginx].map(([peer, pids]) => [peer, pids.some((p) => old.has(p)) ? 'old nginx worker' : 'nginx worker']),
  );
}
