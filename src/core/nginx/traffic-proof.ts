// Requests sent through nginx reach the new app, attributed by socket owner at both ends of each connection.
import os from 'node:os';
import { DefaultProofBudgetMs } from '../defaults.ts';
import { displayUrl } from '../config/secrets.ts';
import { HookError } from '../errors.ts';
import { probeOnce, type ClientEnd } from '../health/probe.ts';
import type { TlsSettings } from '../health/tls.ts';
import { describeProcess } from '../process/describe.ts';
import { findListeners, listProcessTree, readProcessInfo, readTimeWaitLoad } from '../procfs/index.ts';
import { scanSocketOwners } from '../procfs/owners.ts';
import type { ProcessInfo } from '../procfs/types.ts';
import { listWorkers } from './master.ts';
import { readConnectionsTo, startSampling, takeSample } from './proof-capture.ts';
import {
  decodeCapture,
  findForeignAcceptors,
  findStrayUpstreams,
  joinWorkerUpstreams,
  judgeAcceptor,
  judgeProbe,
  judgeUnseen,
  type AcceptJudgement,
  type SampleText,
} from './proof-stages.ts';

/** What the requests through nginx showed: requests seen reaching the new app, or why nothing could be seen. */
export type TrafficProof =
  | { proved: true; requests: number; sent: number; pid: number }
  | { proved: false; reason: string };

/** What one proof needs: the URL through nginx, the master that must answer it, and the tree it must reach. */
export interface ProbeTarget {
  url: string;
  tls?: TlsSettings;
  /** The configured nginx master (nginx.pidFile): only its workers may answer nginx.url. */
  master: ProcessInfo;
  /** The port nginx must forward to; the tree owns every listener on it (proved before). */
  port: number;
  /** The other configured ports: nothing nginx forwards may reach them. */
  others: readonly number[];
  /** The new process (under systemd, its unit's cgroup is the tree). */
  tree: ProcessInfo;
  /** How many requests must be seen reaching the tree (3 after a switch, 1 for a status check). */
  requests: number;
  untilMs: number;
  /** "pid:startTime" of the workers before a reload: they must not take the requests. None outside a switch. */
  oldWorkers?: ReadonlySet<string>;
}

/** TIME_WAIT rows this near the kernel's cap: the requests' own connections may have found the table full. */
const TimeWaitSlack = 1000;

/** Requests sent (at most) per request that must be seen: an upstream connection without keep-alive can be missed. */
const SendsPerProof = 5;

/**
 * Prove that requests sent to `url` are accepted by a worker of `master` and forwarded over a connection whose other
 * end is the new tree's, on `port`. Throws NGINX_FAILED with the evidence when they go elsewhere: another process
 * or nginx answers the URL, a worker connects to another configured port, or its workers forward no request at all
 * (they open no connection). Returns `proved: false` only for what cannot be seen: nothing on this host answers the
 * URL (nginx on another host), or every upstream connection closed before a sample of /proc could show it.
 */
export async function proveRequestsReachTree(target: ProbeTarget): Promise<TrafficProof> {
  const shown = displayUrl(target.url);
  const ports = [target.port, ...target.others];
  // Listed once per proof: only a reload starts the workers that matter, and one that exits holds nothing.
  const tree = new Set(listProcessTree(target.tree).map((p) => p.pid));
  // A connection to one of these has its other end in this host's table (proof-stages' judgeProbe).
  const hostAddresses = new Set(
    Object.values(os.networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address)),
  );
  const workerList = listWorkers(target.master);
  const old = new Set(workerList.filter((w) => target.oldWorkers?.has(`${w.pid}:${w.startTime}`)).map((w) => w.pid));
  const fresh = new Set(workerList.map((w) => w.pid).filter((pid) => !old.has(pid)));
  let reached = 0;
  let sent = 0;
  let unseen = 0;
  let listenersChecked = false;
  // Every connection to the ports before the first request: one that appears later and closes unseen is still a trace.
  const before = readConnectionsTo(ports);
  const maxSent = Math.max(SendsPerProof, target.requests * SendsPerProof);
  // Bounded in time as well as in requests: what was seen by then is the verdict (see DefaultProofBudgetMs).
  const stopAt = Math.min(target.untilMs, Date.now() + DefaultProofBudgetMs);
  while (reached < target.requests && sent < maxSent && (sent === 0 || Date.now() < stopAt)) {
    sent += 1;
    const seen = await sendProbe(target, { fresh, old, tree }, ports);
    const { accepted, answer } = seen;
    if (accepted.kind === 'not-on-host') {
      const reason = `${shown} is not answered by a process on this host (nginx PID ${target.master.pid} runs here)`;
      return { proved: false, reason };
    }
    if (accepted.kind === 'stranger') throw answeredByStranger(target, accepted.pids, seen.end.serverPort);
    if (accepted.kind === 'old-worker') {
      const why = `request ${sent} was taken by worker PID ${accepted.pid} of the old config`;
      throw missed(target, target.others[0] ?? target.port, why);
    }
    if (!listenersChecked) {
      // Another master's workers (a half-done binary upgrade) take connections from the same listening socket.
      assertOnlyMasterAccepts(target, seen.end.serverPort, accepted.address);
      listenersChecked = true;
    }
    if (answer.error !== null || answer.status === null || answer.status < 200 || answer.status >= 300) {
      const what = answer.error !== null ? answer.error : `HTTP ${answer.status}`;
      const message = `probe through nginx failed: ${shown} answered ${what}`;
      throw new HookError('NGINX_FAILED', message, { url: shown, status: answer.status ?? undefined });
    }
    const capture = decodeCapture(seen.samples);
    const stray = findStrayUpstreams(capture, fresh, target.others)[0];
    if (stray) {
      const why = `nginx worker PID ${stray.pid} (started by the reload) holds a connection to it: ${stray.link.tuple}`;
      throw missed(target, stray.link.appPort, why);
    }
    const links = joinWorkerUpstreams(capture, accepted.pid, ports, hostAddresses);
    const judged = judgeProbe(links, target.port, tree);
    if (judged.kind === 'elsewhere') {
      const over = `worker PID ${accepted.pid}'s connection ${judged.link.tuple}`;
      const why = `request ${sent} went over ${over} ${judged.why}`;
      throw missed(target, judged.link.appPort, why);
    }
    if (judged.kind === 'reached') reached += 1;
    else if (seen.opened || links.length > 0) unseen += 1;
  }
  if (reached === 0) {
    const traces = judgeUnseen(sent, unseen, target.port, target.others, before, readConnectionsTo(ports));
    if (traces.kind === 'elsewhere') {
      const { port, appeared } = traces;
      const why =
        `none of ${sent} requests was seen forwarded to port ${target.port}, while ${appeared} connections to port ` +
        `${port} opened and closed meanwhile and none to ${target.port}`;
      throw missed(target, port, why);
    }
    if (traces.kind === 'opened-unseen') {
      const reason =
        `none of ${sent} requests' upstream connections could be observed (each closed within milliseconds: ` +
        'upstream keep-alive lets nginx hold them)';
      return { proved: false, reason };
    }
    if (traces.kind === 'too-fast') {
      const reason =
        `none of ${sent} requests' upstream connections could be observed: ${traces.appeared} to port ` +
        `${target.port} opened and closed between samples, each within milliseconds (upstream keep-alive lets nginx ` +
        'hold them)';
      return { proved: false, reason };
    }
    // At the kernel's cap a closed connection leaves no row: said, so "held no connection" is read for what it is.
    const load = readTimeWaitLoad();
    const full =
      load !== null && load.rows + TimeWaitSlack >= load.cap
        ? ` that was seen (the kernel's TIME_WAIT table is full, ${load.rows} of ${load.cap} rows: a connection that ` +
          'closed left no row)'
        : '';
    throw new HookError(
      'NGINX_FAILED',
      `nginx answered ${shown} but none of ${sent} requests was seen forwarded to port ${target.port}: the workers ` +
        `that took them held no connection to it${full}; nginx.url may be served by another server or location ` +
        'than the one that reads the include',
      { url: shown },
    );
  }
  return { proved: true, requests: reached, sent, pid: target.tree.pid };
}

interface ProbeSeen {
  accepted: AcceptJudgement;
  answer: Awaited<ReturnType<typeof probeOnce>>;
  end: ClientEnd;
  samples: SampleText[];
  /** The accepting worker made a new socket while the request ran. */
  opened: boolean;
}

/**
 * One GET through nginx: once the connection is accepted, who took it (the row of its server side and the workers'
 * fds); while it runs, samples of that worker and the configured ports; at the end, the tree's and all new workers'
 * fds, so both ends of each connection can be joined.
 */
async function sendProbe(
  target: ProbeTarget,
  workers: { fresh: ReadonlySet<number>; old: ReadonlySet<number>; tree: ReadonlySet<number> },
  ports: readonly number[],
): Promise<ProbeSeen> {
  let accepted: AcceptJudgement = { kind: 'not-on-host' };
  let sampling: ReturnType<typeof startSampling> | null = null;
  let end: ClientEnd = { serverPort: 0, localAddress: '', localPort: 0 };
  const attribute = async (client: ClientEnd): Promise<'pending' | null> => {
    end = client;
    const sample = await takeSample([...workers.fresh, ...workers.old], [client.serverPort, client.localPort]);
    const clientEnd = {
      serverPort: client.serverPort,
      clientAddress: client.localAddress,
      clientPort: client.localPort,
    };
    const capture = decodeCapture([sample]);
    accepted = judgeAcceptor(capture, clientEnd, workers);
    // Not accepted yet, or not on this host at all: the probe gives up waiting after a while.
    if (accepted.kind === 'not-on-host') return 'pending';
    if (accepted.kind === 'stranger' && accepted.pids.length === 0) {
      // Accepted between the fds read and the table read, or by a process that is not a worker: every process's
      // fds are read for the one socket, while the connection is still open.
      const { owners } = scanSocketOwners(new Set([accepted.inode]), '/proc');
      const found = owners.get(accepted.inode) ?? [];
      const holders = new Map([[accepted.inode, new Set(found.map((o) => o.pid))]]);
      // A worker the master started after the list was read (one that crashed is replaced): still the master's.
      const late = found.filter((o) => o.ppid === target.master.pid && !workers.old.has(o.pid)).map((o) => o.pid);
      const known = { fresh: new Set([...workers.fresh, ...late]), old: workers.old };
      accepted = judgeAcceptor({ rows: capture.rows, holders }, clientEnd, known);
    }
    if (accepted.kind === 'worker') sampling = startSampling(accepted.pid, ports);
    return null;
  };
  const budget = Math.max(1000, Math.min(5000, target.untilMs - Date.now()));
  const answer = await probeOnce(target.url, budget, attribute, target.tls);
  const seen = sampling ? await (sampling as ReturnType<typeof startSampling>).stop() : null;
  const samples = seen?.samples ?? [];
  // Both ends at the last look: the new workers (a stray connection) and the tree (the other end of a kept one).
  if ((accepted as AcceptJudgement).kind === 'worker')
    samples.push(await takeSample([...workers.fresh, ...workers.tree], ports));
  return { accepted, answer, end, samples, opened: seen?.opened ?? false };
}

/** nginx.url is answered by a process that is not a worker of the configured master: evidence, not "not proved". */
function answeredByStranger(target: ProbeTarget, pids: number[], port: number): HookError {
  const who = pids.map((pid) => describeHolder(pid)).join(', ') || 'a process whose fds cannot be read';
  return new HookError(
    'NGINX_FAILED',
    `${displayUrl(target.url)} is answered by ${who}, not by a worker of the nginx master PID ${target.master.pid} ` +
      `that was reloaded: users on port ${port} may not get the switch`,
    { url: displayUrl(target.url) },
  );
}

/** Every listener that takes connections on the probe's address and port must be the configured master's. */
function assertOnlyMasterAccepts(target: ProbeTarget, port: number, address: string): void {
  const nginxTree = new Set(listProcessTree(target.master).map((p) => p.pid));
  const { listeners } = findListeners(port);
  const shaped = listeners.map((l) => ({ ...l, owners: l.owners.map((o) => o.pid) }));
  const foreign = findForeignAcceptors(shaped, address, nginxTree);
  if (foreign.length === 0) return;
  const who = foreign.map((pid) => describeHolder(pid)).join(', ');
  throw new HookError(
    'NGINX_FAILED',
    `port ${port} (nginx.url) is also accepted on by ${who}, outside the nginx master PID ` +
      `${target.master.pid} that was reloaded: some users are served by a config this switch did not change`,
    { url: displayUrl(target.url) },
  );
}

/** "PID 812 (nginx: master process /usr/sbin/nginx, a worker of PID 811)" for a holder of a socket. */
function describeHolder(pid: number): string {
  const info = readProcessInfo(pid);
  if (info === null) return `PID ${pid} (exited)`;
  const parent = readProcessInfo(info.ppid);
  const under = parent && parent.comm === 'nginx' ? `, a worker of nginx PID ${parent.pid}` : '';
  return `${describeProcess(info)}${under}`;
}

function missed(target: ProbeTarget, port: number, evidence: string): HookError {
  return new HookError(
    'NGINX_FAILED',
    `nginx still sends requests to port ${port} after the switch to ${target.port}: ${evidence}`,
    { port: target.port },
  );
}
