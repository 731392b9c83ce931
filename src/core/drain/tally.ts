import { classifyConnection, connectionKey, DefaultThresholds, type ClassifyThresholds } from './classify.ts';
import type { ConnectionClass } from './classify.ts';
import type { TcpConnection } from './parse-ss.ts';

// A drain's bookkeeping over successive looks at a version's connections: which are busy, since when, and how many
// finished while the stop waited. Pure: the samples and the clock are handed in.

/** What a busy connection turned out to be: a request, a stream out (events, a long download), or both ways. */
export type BusyKind = 'request' | 'stream' | 'two-way stream';

/** A connection still busy when the drain ended: what it was, for how long, and who was at the other end. */
export interface BusyConnection {
  kind: BusyKind;
  /** How long it has been busy (a stream out: since its request arrived). */
  openMs: number;
  peer: string;
}

interface Busy {
  first: TcpConnection;
  last: TcpConnection;
  class: ConnectionClass;
  sinceMs: number;
}

/** Counts over a drain: connections busy now, requests and streams that finished, idle ones. */
export class DrainTally {
  private readonly busy = new Map<string, Busy>();
  readonly finished = { requests: 0, streams: 0 };
  idle = 0;

  constructor(private readonly thresholds: ClassifyThresholds = DefaultThresholds) {}

  /** Take one look: `connections` are the server-side ends as `ss` showed them at `nowMs`; the keys that finished. */
  observe(connections: TcpConnection[], nowMs: number): string[] {
    const seen = new Set<string>();
    const finished: string[] = [];
    this.idle = 0;
    for (const c of connections) {
      const key = connectionKey(c);
      seen.add(key);
      const cls = classifyConnection(c, this.thresholds);
      const known = this.busy.get(key);
      if (cls === 'idle') {
        this.idle += 1;
        if (known) finished.push(this.finish(key, known, nowMs));
      } else if (known) {
        known.last = c;
        known.class = cls;
      } else {
        // A stream out began when its request came in; anything else is dated from now (a lower bound).
        const sinceMs = cls === 'stream' ? nowMs - c.lastRecvMs : nowMs;
        this.busy.set(key, { first: c, last: c, class: cls, sinceMs });
      }
    }
    // Gone since the last look: closed by its client or by the app after its answer, so it finished.
    for (const [key, known] of this.busy) if (!seen.has(key)) finished.push(this.finish(key, known, nowMs));
    return finished;
  }

  /** The keys of the connections busy after the last look. */
  busyKeys(): string[] {
    return [...this.busy.keys()];
  }

  /** How many connections are busy after the last look. */
  busyCount(): number {
    return this.busy.size;
  }

  /** The busy connections as they stand at `nowMs`, longest first. */
  listBusy(nowMs: number): BusyConnection[] {
    return [...this.busy.values()]
      .map((b) => ({ kind: this.kindOf(b, nowMs), openMs: this.openMs(b, nowMs), peer: b.last.peer }))
      .sort((a, b) => b.openMs - a.openMs);
  }

  private finish(key: string, known: Busy, nowMs: number): string {
    this.busy.delete(key);
    if (this.kindOf(known, nowMs) === 'request') this.finished.requests += 1;
    else this.finished.streams += 1;
    return key;
  }

  private openMs(b: Busy, nowMs: number): number {
    return Math.max(nowMs - b.sinceMs, b.class === 'stream' ? b.last.lastRecvMs : 0);
  }

  private kindOf(b: Busy, nowMs: number): BusyKind {
    const long = this.openMs(b, nowMs) >= this.thresholds.streamAfterMs;
    const sent = b.last.bytesSent > b.first.bytesSent;
    const received = b.last.bytesReceived > b.first.bytesReceived;
    // Data both ways for longer than a request takes: a websocket or the like.
    if (long && sent && received) return 'two-way stream';
    // Only data out, long after the request: events or a long download. Only data in (an upload) stays a request.
    if (b.class === 'stream' || (long && sent && !received)) return 'stream';
    return 'request';
  }
}
