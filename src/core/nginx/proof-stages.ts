// The proof's decisions, as pure stages over captured /proc text (psutil's order): decode the rows → map socket
// inodes to the processes holding them → join the two ends of each upstream connection → judge. Nothing here reads
// the host: traffic-proof.ts captures, these decide, and a table of cases feeds them canned text.
import { parseNetTcp, TcpEstablished, TcpListen } from '../procfs/net-tcp.ts';
import type { TcpSocket } from '../procfs/types.ts';

/** The /proc text one sample captured: rows of /proc/net/tcp and tcp6 (their header included) and fd links. */
export interface SampleText {
  tcp: string;
  tcp6: string;
  /** pid → the targets of its /proc/PID/fd links ("socket:[123]", "/dev/null", …); a pid that was gone is absent. */
  fds: Map<number, string[]>;
}

/** A row as one sample saw it: `sample` is that sample's index. */
export interface SampledRow extends TcpSocket {
  sample: number;
}

/** What a probe's samples hold once decoded: every row seen, and who held which socket at some sample. */
export interface DecodedCapture {
  rows: SampledRow[];
  /** inode → the pids seen holding it. An inode names one socket while it lives and is not reused within a probe. */
  holders: Map<number, Set<number>>;
}

/** One connection the accepting worker held to a configured port, joined to the socket at its other end. */
export interface UpstreamLink {
  /** The worker's socket. */
  inode: number;
  /** "127.0.0.1:43122 → 127.0.0.1:8082", as the worker's side sees it. */
  tuple: string;
  appPort: number;
  /** The socket at the other end, when its row was seen on this host (0: not accepted yet, or closed). */
  peerInode: number | null;
  /** The pids holding the other end (empty when it was closed or not yet accepted when looked at). */
  peerHolders: number[];
  /** Samples that saw it established: a table walk is not atomic, one may miss an end that closed meanwhile. */
  established: number;
  /** Its far address is this host's (loopback, or an interface's): the other end is a socket in this table. */
  onHost: boolean;
}

/** The verdict on one request sent through nginx. */
export type ProbeJudgement =
  | { kind: 'reached'; link: UpstreamLink; owner: number | null }
  | { kind: 'elsewhere'; link: UpstreamLink; why: string }
  | { kind: 'not-observed' };

/** Who took the probe's connection to nginx.url. */
export type AcceptJudgement =
  | { kind: 'worker'; pid: number; address: string }
  | { kind: 'old-worker'; pid: number }
  | { kind: 'stranger'; pids: number[]; inode: number }
  | { kind: 'not-on-host' };

/** Decode: every sample's rows (the text may hold only the rows a reader kept, after the header line). */
export function decodeCapture(samples: readonly SampleText[]): DecodedCapture {
  const rows: SampledRow[] = [];
  const holders = new Map<number, Set<number>>();
  for (const [index, sample] of samples.entries()) {
    // One row at a time: a busy port's rows as arguments to push could overflow the stack.
    for (const row of parseNetTcp(sample.tcp, 4, `sample ${index + 1} /proc/net/tcp`))
      rows.push({ ...row, sample: index });
    for (const row of parseNetTcp(sample.tcp6, 6, `sample ${index + 1} /proc/net/tcp6`))
      rows.push({ ...row, sample: index });
    for (const [pid, links] of sample.fds) {
      for (const inode of socketInodes(links)) {
        const set = holders.get(inode) ?? new Set<number>();
        set.add(pid);
        holders.set(inode, set);
      }
    }
  }
  return { rows, holders };
}

/** The socket inodes among fd link targets ("socket:[123]" → 123). */
export function socketInodes(links: readonly string[]): number[] {
  return links.flatMap((link) => {
    const match = /^socket:\[(\d+)\]$/.exec(link);
    return match ? [Number(match[1])] : [];
  });
}

/**
 * Join: each socket `worker` held whose row connects it to a configured port, with the row of its other end (the
 * same four-tuple, swapped) and whoever held that end's inode. Rows seen in several samples count once, and a row
 * one walk listed twice (the kernel resumes a busy table's walk by position) counts as one sample. `hostAddresses`:
 * this host's interface addresses, beside loopback.
 */
export function joinWorkerUpstreams(
  capture: DecodedCapture,
  worker: number,
  ports: readonly number[],
  hostAddresses: ReadonlySet<string> = new Set(),
): UpstreamLink[] {
  const links = new Map<number, UpstreamLink>();
  const openIn = new Map<number, Set<number>>();
  for (const row of capture.rows) {
    if (row.inode === 0 || row.state === TcpListen || !ports.includes(row.remotePort)) continue;
    if (!capture.holders.get(row.inode)?.has(worker)) continue;
    const samples = openIn.get(row.inode) ?? new Set<number>();
    if (row.state === TcpEstablished) samples.add(row.sample);
    openIn.set(row.inode, samples);
    const known = links.get(row.inode);
    if (known && (known.peerInode ?? 0) !== 0) continue;
    const peers = capture.rows.filter((p) => isPeer(p, row));
    // The other end's socket: an accepted one has an inode; in the accept queue or closed it has none.
    const peerInode = peers.find((p) => p.inode !== 0)?.inode ?? (peers.length > 0 ? 0 : null);
    const far = plain(row.remoteAddress);
    links.set(row.inode, {
      inode: row.inode,
      tuple: `${plain(row.localAddress)}:${row.localPort} → ${far}:${row.remotePort}`,
      appPort: row.remotePort,
      peerInode,
      peerHolders: peerInode ? [...(capture.holders.get(peerInode) ?? [])] : [],
      established: 0,
      onHost: isLoopback(far) || hostAddresses.has(far),
    });
  }
  for (const link of links.values()) link.established = openIn.get(link.inode)?.size ?? 0;
  return [...links.values()];
}

/**
 * Judge one request by the connections its worker held or opened while it ran: one to another configured port, or
 * one whose other end is not on this host or is held outside the new tree, means nginx sends it elsewhere; one to the
 * port whose other end is the tree's (held by a tree pid, or accepted on the port whose every listener the tree owns,
 * proved before the switch) means it reached the tree; none seen is "not observed", never "reached".
 */
export function judgeProbe(links: readonly UpstreamLink[], port: number, tree: ReadonlySet<number>): ProbeJudgement {
  for (const link of links) {
    if (link.appPort !== port) return { kind: 'elsewhere', link, why: `to port ${link.appPort}` };
    // No other end seen: the walk passed its row after it closed, skipped it (a busy table's walk resumes by position
    // and misses rows that move), or it is elsewhere. To this host's own address the other end is in this table: a
    // miss, "not observed". To another address, only one seen open in two samples with no other end in either is
    // elsewhere.
    if (link.peerInode === null && (link.onHost || link.established < 2)) continue;
    if (link.peerInode === null)
      return { kind: 'elsewhere', link, why: 'to an address whose other end is not a socket on this host' };
    const strangers = link.peerHolders.filter((pid) => !tree.has(pid));
    if (strangers.length > 0)
      return { kind: 'elsewhere', link, why: `whose other end PID ${strangers.join(', ')} holds, not the new tree` };
  }
  const reached = links.find((l) => l.appPort === port && l.peerInode !== null);
  if (!reached) return { kind: 'not-observed' };
  const owner = reached.peerHolders.find((pid) => tree.has(pid)) ?? null;
  return { kind: 'reached', link: reached, owner };
}

/**
 * Who accepted the probe's connection: the server-side row (local = the URL's port, remote = the probe's own end)
 * and the holders of its inode. A worker of the configured master that the reload started, one of the old config,
 * any other process (another nginx, another server on the port), or nothing on this host.
 */
export function judgeAcceptor(
  capture: DecodedCapture,
  end: { serverPort: number; clientAddress: string; clientPort: number },
  workers: { fresh: ReadonlySet<number>; old: ReadonlySet<number> },
): AcceptJudgement {
  const socket = capture.rows.find(
    (s) =>
      s.localPort === end.serverPort &&
      s.remotePort === end.clientPort &&
      plain(s.remoteAddress) === plain(end.clientAddress) &&
      s.inode !== 0,
  );
  if (!socket) return { kind: 'not-on-host' };
  const pids = [...(capture.holders.get(socket.inode) ?? [])];
  const fresh = pids.find((pid) => workers.fresh.has(pid));
  if (fresh !== undefined) return { kind: 'worker', pid: fresh, address: plain(socket.localAddress) };
  const old = pids.find((pid) => workers.old.has(pid));
  if (old !== undefined) return { kind: 'old-worker', pid: old };
  return { kind: 'stranger', pids, inode: socket.inode };
}

/**
 * Connections a worker the reload started holds to another configured port: with the new config loaded, nothing of
 * nginx's should go there (an old worker finishing a stream is not looked at: it forgives nothing and proves nothing).
 */
export function findStrayUpstreams(
  capture: DecodedCapture,
  freshWorkers: ReadonlySet<number>,
  others: readonly number[],
): { pid: number; link: UpstreamLink }[] {
  const found: { pid: number; link: UpstreamLink }[] = [];
  for (const pid of freshWorkers) {
    for (const link of joinWorkerUpstreams(capture, pid, others)) found.push({ pid, link });
  }
  return found;
}

/** A process is an nginx master when its name is nginx or its title says so; null when it is, else what it is. */
export function judgeMaster(master: { pid: number; comm: string; command: string }): string | null {
  if (master.comm === 'nginx' || master.command.startsWith('nginx: master process')) return null;
  return `PID ${master.pid} is not an nginx master: it runs "${master.command.slice(0, 80)}" (${master.comm})`;
}

/**
 * Listeners that accept connections on the probe's address and port, held by a process outside the configured
 * master's tree (a second nginx master of a half-done binary upgrade, another server): their pids, by inode.
 */
export function findForeignAcceptors(
  listeners: readonly { address: string; port: number; owners: readonly number[] }[],
  address: string,
  nginxTree: ReadonlySet<number>,
): number[] {
  const served = plain(address);
  const covering = listeners.filter((l) => ['0.0.0.0', '::', served].includes(plain(l.address)));
  return [...new Set(covering.flatMap((l) => l.owners.filter((pid) => !nginxTree.has(pid))))];
}

/**
 * The -c (config file) and -p (prefix) a command line gives nginx: the master keeps its argv in its title
 * ("nginx: master process /usr/sbin/nginx -c /etc/nginx/nginx.conf"), the test command is an argv. Only the words
 * after the nginx program count: a wrapper's own flags (`sh -c …`, `sudo -p …`) are not nginx's; without an nginx
 * word nothing can be told (both null).
 */
export function readConfigArgs(all: readonly string[]): { conf: string | null; prefix: string | null } {
  const program = all.findIndex((word) => /^nginx\b/.test(word.slice(word.lastIndexOf('/') + 1)));
  if (program < 0) return { conf: null, prefix: null };
  const argv = all.slice(program + 1);
  const value = (flag: string): string | null => {
    for (let i = 0; i < argv.length; i++) {
      const word = argv[i]!;
      if (word === flag) return argv[i + 1] ?? null;
      if (word.startsWith(flag) && word.length > flag.length) return word.slice(flag.length);
    }
    return null;
  };
  return { conf: value('-c'), prefix: value('-p') };
}

/**
 * When the running master was started with another config file than the one nginx.test checks, the reload loads a
 * config nobody tested: the problem, or null. Only explicit -c on both sides is compared (a default is the binary's).
 */
export function compareRunningConfig(masterCommand: string, testArgv: readonly string[]): string | null {
  const title = masterCommand.replace(/^nginx: master process\s+/, '').split(/\s+/);
  const running = readConfigArgs(title);
  const tested = readConfigArgs(testArgv);
  if (running.conf === null || tested.conf === null) return null;
  const resolve = (c: { conf: string | null; prefix: string | null }) =>
    c.conf!.startsWith('/') || c.prefix === null ? c.conf! : `${c.prefix.replace(/\/$/, '')}/${c.conf}`;
  if (resolve(running) === resolve(tested)) return null;
  return `the running nginx master loads ${resolve(running)}, but nginx.test checks ${resolve(tested)}`;
}

function isPeer(p: TcpSocket, row: TcpSocket): boolean {
  return (
    p.localPort === row.remotePort &&
    p.remotePort === row.localPort &&
    plain(p.localAddress) === plain(row.remoteAddress) &&
    plain(p.remoteAddress) === plain(row.localAddress)
  );
}

/** 127.0.0.0/8 and ::1, as `plain` leaves them. */
function isLoopback(address: string): boolean {
  return address === '::1' || /^127\./.test(address);
}

/** 127.0.0.1 and ::ffff:127.0.0.1 are one address seen from the two families. */
function plain(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/**
 * The far ends (address:port) of every connection to `port` in a table's rows, TIME_WAIT included: a connection that
 * closed within a millisecond still leaves its row for a minute, though no socket (and so no owner) is left to join.
 */
export function listConnectionsTo(rows: readonly TcpSocket[], port: number): Set<string> {
  const ends = new Set<string>();
  for (const row of rows) {
    if (row.state === TcpListen) continue;
    if (row.remotePort === port) ends.add(`${row.localAddress}:${row.localPort}`);
    else if (row.localPort === port) ends.add(`${row.remoteAddress}:${row.remotePort}`);
  }
  return ends;
}

/** Where requests no sample caught went, by the connections that appeared meanwhile (rows outlive a closed one). */
export type UnseenJudgement =
  | { kind: 'elsewhere'; port: number; appeared: number }
  | { kind: 'opened-unseen' }
  | { kind: 'too-fast'; appeared: number }
  | { kind: 'nowhere' };

/**
 * No request of `sent` was seen reaching `port`. None appeared to it and at least one per request to another
 * configured port: that is where they went (a stray client of the old port, or an old worker finishing, does not
 * make that many). Otherwise a worker seen opening a socket (`unseen`), or connections that appeared to the port, say
 * requests were forwarded too fast to attribute: not proved, never a failure blamed on nginx. Else they went nowhere.
 */
export function judgeUnseen(
  sent: number,
  unseen: number,
  port: number,
  others: readonly number[],
  before: ReadonlyMap<number, ReadonlySet<string>>,
  after: ReadonlyMap<number, ReadonlySet<string>>,
): UnseenJudgement {
  const appeared = (to: number) => [...(after.get(to) ?? [])].filter((end) => !before.get(to)?.has(end)).length;
  const toPort = appeared(port);
  const elsewhere = others.find((other) => appeared(other) >= sent);
  if (toPort === 0 && elsewhere !== undefined)
    return { kind: 'elsewhere', port: elsewhere, appeared: appeared(elsewhere) };
  if (unseen > 0) return { kind: 'opened-unseen' };
  if (toPort > 0) return { kind: 'too-fast', appeared: toPort };
  return { kind: 'nowhere' };
}
