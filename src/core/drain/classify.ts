import { DefaultDrainQuietMs, DefaultStreamAfterMs } from '../defaults.ts';
import type { TcpConnection } from './parse-ss.ts';

// What one server-side connection is doing for its user, from tcp_info alone: nothing (a keep-alive between requests),
// a request (asked and not yet answered, or an answer still going out), or a stream (data flowing out long after the
// last data came in).

/** What a connection carries right now. */
export type ConnectionClass = 'idle' | 'request' | 'stream';

/** The thresholds the classification uses (tests and benches may shorten them). */
export interface ClassifyThresholds {
  quietMs: number;
  streamAfterMs: number;
}

export const DefaultThresholds: ClassifyThresholds = {
  quietMs: DefaultDrainQuietMs,
  streamAfterMs: DefaultStreamAfterMs,
};

/** Classify one connection seen from the server's side (its local port is the app's). */
export function classifyConnection(c: TcpConnection, t: ClassifyThresholds = DefaultThresholds): ConnectionClass {
  // Bytes the app has not read yet: a request (or the rest of one) waits for it.
  if (c.recvQ > 0) return 'request';
  // Nothing ever asked on it: a connection opened and not used yet.
  if (c.bytesReceived === 0) return c.sendQ > 0 || c.unacked > 0 ? 'request' : 'idle';
  // Data came in after the last data went out: a request or an upload being received, not answered yet.
  if (c.lastRecvMs < c.lastSendMs) return 'request';
  const sending = c.sendQ > 0 || c.unacked > 0 || c.lastSendMs < t.quietMs;
  if (!sending) return 'idle';
  return c.lastRecvMs >= t.streamAfterMs ? 'stream' : 'request';
}

/** The key of a connection across samples: both ends. */
export function connectionKey(c: TcpConnection): string {
  return `${c.local} ${c.peer}`;
}
