// The proof's only readers: samples of /proc/net/tcp{,6} (the rows of the ports that matter) and of some processes'
// socket fds, taken as text. proof-stages.ts decides over them.
import { setTimeout as sleep } from 'node:timers/promises';
import { DefaultSampleGapMs } from '../defaults.ts';
import { readSocketLinks, readTcpSockets, readTcpText } from '../procfs/index.ts';
import { portMarker } from '../procfs/net-tcp.ts';
import { listConnectionsTo, type SampleText } from './proof-stages.ts';

/** A row in TIME_WAIT: both ends closed, no owner to join (a busy host keeps tens of thousands for a minute). */
const TimeWaitRow = /^\s*\d+: \S+ \S+ 06 /;

/**
 * One sample: the rows naming any of `ports` at either end, and the socket fds of `pids` (the gone left out). TIME_WAIT
 * rows are left out: no socket holds them, and a worker's open connection never has its other end in TIME_WAIT (that
 * end has its FIN answered only once this one has closed). The fds are read before the promise is made (a socket
 * held then is known at once); the table is read off the event loop, so a request in flight is answered meanwhile.
 */
export async function takeSample(pids: Iterable<number>, ports: readonly number[]): Promise<SampleText> {
  const fds = new Map<number, string[]>();
  // The fds first: a socket seen held here and seen in the rows just after is one socket (inodes are not reused).
  for (const pid of pids) {
    const links = readSocketLinks(pid, '/proc');
    if (links !== null) fds.set(pid, links);
  }
  const text = await readTcpText('/proc', { markers: ports.map(portMarker), keep: (line) => !TimeWaitRow.test(line) });
  // And after: a socket made during the table's walk and still open now is held, and seen in the rows.
  for (const pid of fds.keys()) {
    const links = readSocketLinks(pid, '/proc');
    if (links !== null) fds.set(pid, [...new Set([...fds.get(pid)!, ...links])]);
  }
  return { ...text, fds };
}

/**
 * Sample a worker while a request runs, yielding to the event loop between samples so the request proceeds. An
 * upstream connection without keep-alive lives only as long as the request (a millisecond or two on loopback) and
 * is seen only if a sample of the table (a walk of the kernel's whole hash: milliseconds) falls inside it; measured
 * here, about half are. `opened` says whether the worker made any new socket meanwhile: one that made none and holds
 * no connection to the port did not forward the request. `stop` takes one last sample (a keep-alive connection is
 * still held then).
 */
export function startSampling(
  worker: number,
  ports: readonly number[],
): { stop: () => Promise<{ samples: SampleText[]; opened: boolean }> } {
  const samples: SampleText[] = [];
  // The worker's sockets before the request is sent: read now, not when the first sample's table is.
  const known = new Set(readSocketLinks(worker, '/proc') ?? []);
  let opened = false;
  let running = true;
  const loop = (async () => {
    while (running) {
      const sample = await takeSample([worker], ports);
      samples.push(sample);
      // Any socket the worker did not hold before: it opened a connection (upstream, or another client's).
      opened ||= (sample.fds.get(worker) ?? []).some((link) => !known.has(link));
      // A breath between samples: a busy host needs the CPU for nginx and the app this loop is waiting on.
      await sleep(DefaultSampleGapMs);
    }
  })();
  // A failed read is thrown by stop(), not left to end the hook as an unhandled rejection meanwhile.
  loop.catch(() => {});
  return {
    stop: async () => {
      running = false;
      await loop;
      samples.push(await takeSample([worker], ports));
      return { samples, opened };
    },
  };
}

/** The far ends of every connection to each of `ports` now, TIME_WAIT rows included (see listConnectionsTo). */
export function readConnectionsTo(ports: readonly number[]): Map<number, Set<string>> {
  const rows = readTcpSockets('/proc', { markers: ports.map(portMarker) });
  return new Map(ports.map((port) => [port, listConnectionsTo(rows, port)]));
}
