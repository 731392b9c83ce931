// The proof's only readers: samples of /proc/net/tcp{,6} (the rows of the ports that matter) and of some processes'
// socket fds, taken as text. proof-stages.ts decides over them.
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { readSocketLinks, readTcpText } from '../procfs/index.ts';
import { portMarker } from '../procfs/net-tcp.ts';
import type { SampleText } from './proof-stages.ts';

/** One sample: the rows naming any of `ports` at either end, and the socket fds of `pids` (the gone left out). */
export function takeSample(pids: Iterable<number>, ports: readonly number[]): SampleText {
  const markers = ports.map(portMarker);
  const fds = new Map<number, string[]>();
  // The fds first: a socket seen held here and seen in the rows just after is one socket (inodes are not reused).
  for (const pid of pids) {
    const links = readSocketLinks(pid, '/proc');
    if (links !== null) fds.set(pid, links);
  }
  const text = readTcpText('/proc', (line) => markers.some((m) => line.includes(m)));
  return { ...text, fds };
}

/**
 * Sample a worker again and again while a request runs, yielding to the event loop between samples so the request
 * proceeds: an upstream connection without keep-alive lives only as long as the request, and is seen only if a sample
 * falls inside it. `stop` takes one last sample (a keep-alive connection is still held then) and returns them all.
 */
export function startSampling(worker: number, ports: readonly number[]): { stop: () => Promise<SampleText[]> } {
  const samples: SampleText[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      samples.push(takeSample([worker], ports));
      await yieldToLoop();
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      samples.push(takeSample([worker], ports));
      return samples;
    },
  };
}
