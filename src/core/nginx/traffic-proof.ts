// After a switch: requests sent through nginx reach the new app, seen in /proc/net/tcp from both ends of loopback.
import { displayUrl } from '../config/secrets.ts';
import { HookError } from '../errors.ts';
import { probeOnce } from '../health/probe.ts';
import type { TlsSettings } from '../health/tls.ts';
import { readSocketFds, readTcpSockets } from '../procfs/index.ts';
import { listWorkers } from './master.ts';
import { portMarker, TcpEstablished, TcpListen, TcpSynRecv, TcpTimeWait } from '../procfs/net-tcp.ts';
import type { ProcessInfo } from '../procfs/types.ts';
import type { NginxFiles } from './loaded-files.ts';
import { describeDirectRoutes } from './direct-routes.ts';

/** What the requests through nginx showed: every one reached the new app, or why that could not be told. */
export type TrafficProof = { proved: true; requests: number; pid: number } | { proved: false; reason: string };

/** What a proof needs: the URL through nginx, who runs nginx now, and the app it must reach. */
export interface ProofPlan {
  url: string;
  tls?: TlsSettings;
  master: ProcessInfo;
  /** "pid:startTime" of the workers that ran the old config. */
  oldWorkers: Set<string>;
  /** The port switched to; the tree owns every listener on it (proved before the switch). */
  port: number;
  tree: ProcessInfo;
  /** The other configured ports: requests must not reach them. */
  others: readonly number[];
  requests: number;
  untilMs: number;
  /** nginx -T's files, to name a location that proxies to a port directly. */
  files: NginxFiles | null;
}

/** One loopback connection to a configured port, as its two ends show it (a closed end is absent). */
interface Upstream {
  appPort: number;
  /** The socket on the proxy's side (0 when it is closed or in TIME_WAIT). */
  proxyInode: number;
  /** The sockets of its ends that are open (not TIME_WAIT), by inode. */
  open: Set<number>;
  /** Connecting or established at either end: in use, not closing. */
  live: boolean;
  /** What is left of its TIME_WAIT (0 when no end is in TIME_WAIT). */
  timeWait: number;
}

/**
 * Send `requests` GETs through nginx, one at a time, and for each find the worker that accepted it and the
 * upstream connections that appeared or that worker holds: a request counts when a connection to the new port
 * appeared while it ran or its worker holds one (upstream keep-alive), and the worker is one the reload started.
 * Any connection a new worker holds to another configured port, or a request seen reaching only another one,
 * fails the proof: the switch is then undone by the caller. A connection that closed leaves a TIME_WAIT on one
 * side for a minute, so a request served over a short-lived connection is still seen after its answer.
 */
export async function proveTraffic(plan: ProofPlan): Promise<TrafficProof> {
  const shown = displayUrl(plan.url);
  const ports = [plan.port, ...plan.others];
  // Each snapshot is the next request's "before": with tens of thousands of TIME_WAIT rows, every read counts.
  let after = snapshotUpstreams(ports);
  for (let request = 1; request <= plan.requests; request += 1) {
    const before = after;
    const accepted: { worker: ProcessInfo | null; stranger: string | null } = { worker: null, stranger: null };
    // Listed once for the request: only a reload starts workers, and one that exits meanwhile holds no socket.
    const workerList = listWorkers(plan.master);
    const budget = Math.max(1000, Math.min(5000, plan.untilMs - Date.now()));
    const answer = await probeOnce(
      plan.url,
      budget,
      (end) => findAcceptingWorker(plan.master, workerList, end, accepted),
      plan.tls,
    );
    after = snapshotUpstreams(ports);
    const { sockets: workers, oldAlive } = readWorkerSockets(workerList, plan.oldWorkers);
    const strayed = [...after.values()].find((u) => u.appPort !== plan.port && workers.get(u.proxyInode)?.fresh);
    if (strayed) {
      const worker = workers.get(strayed.proxyInode)!.pid;
      throw missed(
        plan,
        strayed.appPort,
        `nginx worker PID ${worker} (started by the reload) holds a connection to it`,
      );
    }
    if (answer.error !== null || answer.status === null || answer.status < 200 || answer.status >= 300) {
      const what = answer.error !== null ? answer.error : `HTTP ${answer.status}`;
      throw new HookError(
        'NGINX_FAILED',
        `probe through nginx failed: ${shown} answered ${what}${explainRoutes(plan)}`,
        { url: shown, status: answer.status ?? undefined },
      );
    }
    if (accepted.stranger !== null) return { proved: false, reason: accepted.stranger };
    if (accepted.worker === null) {
      const reason = `${shown} is not answered by the nginx on this host (PID ${plan.master.pid})`;
      return { proved: false, reason };
    }
    const worker = accepted.worker.pid;
    if (plan.oldWorkers.has(`${worker}:${accepted.worker.startTime}`)) {
      throw missed(plan, plan.others[0]!, `request ${request} was taken by worker PID ${worker} of the old config`);
    }
    const appeared = [...after].filter(([id, u]) => isNew(u, before.get(id))).map(([, u]) => u);
    const held = [...after.values()].filter((u) => workers.get(u.proxyInode)?.pid === worker);
    const reached = [...appeared, ...held].some((u) => u.appPort === plan.port);
    const elsewhere = appeared.find((u) => u.appPort !== plan.port && !workers.get(u.proxyInode));
    if (!reached && elsewhere)
      throw missed(plan, elsewhere.appPort, `request ${request} of ${plan.requests} went there`);
    // A worker of the old config still finishing its requests may open connections to the old port meanwhile.
    if (elsewhere && !oldAlive) {
      throw missed(plan, elsewhere.appPort, 'a connection to it appeared after every old worker had exited');
    }
    if (!reached) {
      throw new HookError(
        'NGINX_FAILED',
        `nginx answered ${shown} (HTTP ${answer.status}) without forwarding it to port ${plan.port}: ` +
          `no connection to the port from worker PID ${worker}; nginx.url may be served by another server or ` +
          `location than the one that reads the include${explainRoutes(plan)}`,
        { url: shown },
      );
    }
  }
  return { proved: true, requests: plan.requests, pid: plan.tree.pid };
}

function missed(plan: ProofPlan, port: number, evidence: string): HookError {
  return new HookError(
    'NGINX_FAILED',
    `nginx still sends requests to port ${port} after the switch to ${plan.port}: ${evidence}` +
      explainRoutes(plan, port),
    { port: plan.port },
  );
}

/** "; its location / (FILE line N) proxies there directly: …" when nginx -T shows one, else nothing. */
function explainRoutes(plan: ProofPlan, port?: number): string {
  if (plan.files === null) return '';
  const routes = (port === undefined ? plan.others : [port]).flatMap((p) => describeDirectRoutes(plan.files!, p));
  return routes.length > 0 ? `; ${routes.slice(0, 2).join('; ')}` : '';
}

/**
 * The attribution hook of the probe: names the nginx worker that accepted the request's connection, or says the
 * connection reached something else; 'pending' until it is accepted.
 */
function findAcceptingWorker(
  master: ProcessInfo,
  workers: ProcessInfo[],
  end: { serverPort: number; localAddress: string; localPort: number },
  accepted: { worker: ProcessInfo | null; stranger: string | null },
): string | null | 'pending' {
  const [server, client] = [portMarker(end.serverPort), portMarker(end.localPort)];
  const socket = readTcpSockets('/proc', (line) => line.includes(server) && line.includes(client)).find(
    (s) =>
      s.localPort === end.serverPort &&
      s.remotePort === end.localPort &&
      plain(s.remoteAddress) === plain(end.localAddress) &&
      s.inode !== 0,
  );
  // Not accepted yet (or not on this host at all: the probe gives up waiting, and the proof is not made).
  if (socket === undefined) return 'pending';
  const worker = workers.find((w) => {
    const fds = readSocketFds(w.pid, '/proc');
    return !('skip' in fds) && fds.sockets.has(socket.inode);
  });
  if (worker) accepted.worker = worker;
  else accepted.stranger = `nginx.url is answered on this host by a process that is not a worker of PID ${master.pid}`;
  return null;
}

/** Connections to the configured ports, by "port|client address:port", the same key from either end. */
function snapshotUpstreams(ports: readonly number[]): Map<string, Upstream> {
  const upstreams = new Map<string, Upstream>();
  const markers = ports.map(portMarker);
  for (const socket of readTcpSockets('/proc', (line) => markers.some((m) => line.includes(m)))) {
    if (socket.state === TcpListen) continue;
    const appSide = ports.includes(socket.localPort);
    const proxySide = !appSide && ports.includes(socket.remotePort);
    if (!appSide && !proxySide) continue;
    const appPort = appSide ? socket.localPort : socket.remotePort;
    const client = appSide
      ? `${plain(socket.remoteAddress)}:${socket.remotePort}`
      : `${plain(socket.localAddress)}:${socket.localPort}`;
    const id = `${appPort}|${client}`;
    const known = upstreams.get(id) ?? { appPort, proxyInode: 0, open: new Set(), live: false, timeWait: 0 };
    if (proxySide) known.proxyInode = socket.inode;
    if (socket.state === TcpTimeWait) known.timeWait = Math.max(known.timeWait, socket.timerJiffies);
    else if (socket.inode !== 0) known.open.add(socket.inode);
    known.live ||= socket.state >= TcpEstablished && socket.state <= TcpSynRecv;
    upstreams.set(id, known);
  }
  return upstreams;
}

/**
 * A connection that was not there before, or was made anew on the same port pair: loopback reuses the pair of a
 * TIME_WAIT (tcp_tw_reuse), so under load a request's connection often has an old one's key. An open socket that was
 * not there, or a TIME_WAIT whose timer started again (it only runs down otherwise), is a new connection; one that
 * only closed since (a side gone, ESTABLISHED to TIME_WAIT) is the same one.
 */
function isNew(now: Upstream, before: Upstream | undefined): boolean {
  if (before === undefined) return true;
  if (before.timeWait > 0 && now.timeWait > before.timeWait) return true;
  return now.live && [...now.open].some((inode) => !before.open.has(inode));
}

/** 127.0.0.1 and ::ffff:127.0.0.1 are one address seen from the two families. */
function plain(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/** The sockets each worker holds (inode → the worker, and whether the reload started it). */
function readWorkerSockets(workerList: ProcessInfo[], oldWorkers: Set<string>) {
  const sockets = new Map<number, { pid: number; fresh: boolean }>();
  let oldAlive = false;
  for (const worker of workerList) {
    const fds = readSocketFds(worker.pid, '/proc');
    // A worker that exited meanwhile holds nothing any more.
    if ('skip' in fds) continue;
    const fresh = !oldWorkers.has(`${worker.pid}:${worker.startTime}`);
    oldAlive ||= !fresh;
    for (const inode of fds.sockets.keys()) sockets.set(inode, { pid: worker.pid, fresh });
  }
  return { sockets, oldAlive };
}
