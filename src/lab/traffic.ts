import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { Socket } from 'node:net';

// Long-lived traffic for drain tests and benches, against the fixture app's /download, /upload, /events and /ws
// (directly or through a lab nginx): each client says at the end whether its exchange completed, was cut, or failed.

/** The kinds of traffic a version may be serving when it is stopped. */
export type TrafficKind = 'download' | 'upload' | 'events' | 'websocket';

/** completed: the answer arrived whole (a stream: still open when the client closed it); cut: the connection ended
 * before that; failed: an error status or no connection at all. */
export type Outcome = 'completed' | 'cut' | 'failed';

/** One exchange under way. */
export interface Exchange {
  kind: TrafficKind;
  /** Resolves once the exchange is under way (the answer's head arrived; an upload: its first bytes sent). */
  started: Promise<void>;
  /** How it ended. */
  outcome: Promise<Outcome>;
  /** End a stream from the client's side (it counts as completed if it was still open). */
  close(): void;
  /** Drop the connection as a proxy cancelling it would: the exchange counts as cut. */
  abort(): void;
}

/** How long and how big: a download of `kb` KiB over `ms`, an upload over `ms`, events or ticks every `everyMs`. */
export interface ExchangeOptions {
  ms?: number;
  kb?: number;
  everyMs?: number;
}

/** Open one exchange of `kind` against `base` (http://127.0.0.1:PORT). */
export function openExchange(base: string, kind: TrafficKind, options: ExchangeOptions = {}): Exchange {
  if (kind === 'websocket') return openWebsocket(base, options);
  if (kind === 'upload') return sendUpload(base, options);
  const query =
    kind === 'download' ? `ms=${options.ms ?? 5000}&kb=${options.kb ?? 64}` : `every=${options.everyMs ?? 500}`;
  return readAnswer(base, kind, `/${kind === 'download' ? 'download' : 'events'}?${query}`);
}

/** A settled-once outcome with its `started` signal. */
function track(): { started: Promise<void>; begin: () => void; outcome: Promise<Outcome>; end: (o: Outcome) => void } {
  let begin!: () => void;
  let end!: (o: Outcome) => void;
  const started = new Promise<void>((resolve) => (begin = resolve));
  const outcome = new Promise<Outcome>((resolve) => (end = resolve));
  let settled = false;
  return {
    started,
    begin,
    outcome,
    end: (o) => {
      if (settled) return;
      settled = true;
      begin();
      end(o);
    },
  };
}

function readAnswer(base: string, kind: TrafficKind, target: string): Exchange {
  const t = track();
  let closing = false;
  const req = http.get(`${base}${target}`, { agent: false }, (res) => {
    if ((res.statusCode ?? 0) >= 300) {
      res.resume();
      return t.end('failed');
    }
    t.begin();
    const expected = Number(res.headers['content-length'] ?? Number.NaN);
    let received = 0;
    res.on('data', (chunk: Buffer) => (received += chunk.length));
    res.on('end', () => t.end(closing || received === expected ? 'completed' : 'cut'));
    res.on('error', () => t.end(closing ? 'completed' : 'cut'));
    res.on('close', () => t.end(closing || (res.complete && received === expected) ? 'completed' : 'cut'));
  });
  req.on('error', () => t.end(closing ? 'completed' : 'failed'));
  return {
    kind,
    started: t.started,
    outcome: t.outcome,
    close: () => {
      closing = true;
      req.destroy();
      t.end('completed');
    },
    abort: () => {
      req.destroy();
      t.end('cut');
    },
  };
}

function sendUpload(base: string, options: ExchangeOptions): Exchange {
  const t = track();
  const ms = options.ms ?? 5000;
  const chunk = Buffer.alloc(1024, 0x62);
  const chunks = Math.max(1, Math.round(ms / 100));
  const req = http.request(`${base}/upload`, {
    method: 'POST',
    agent: false,
    headers: { 'content-type': 'application/octet-stream', 'content-length': chunks * chunk.length },
  });
  req.on('response', (res) => {
    let body = '';
    res.on('data', (c: Buffer) => (body += c.toString()));
    res.on('end', () => {
      const whole = res.statusCode === 200 && body.includes(`"received":${chunks * chunk.length}`);
      // An error answer (nginx's 502) once the body was under way: the upload was cut, not refused.
      t.end(whole ? 'completed' : sent > 0 ? 'cut' : 'failed');
    });
    res.on('error', () => t.end('cut'));
  });
  req.on('error', () => t.end(sent > 0 ? 'cut' : 'failed'));
  let sent = 0;
  const timer = setInterval(() => {
    if (req.destroyed) return clearInterval(timer);
    req.write(chunk);
    sent += 1;
    t.begin();
    if (sent === chunks) {
      clearInterval(timer);
      req.end();
    }
  }, 100);
  void t.outcome.then(() => clearInterval(timer));
  const abort = () => {
    req.destroy();
    t.end('cut');
  };
  return { kind: 'upload', started: t.started, outcome: t.outcome, close: () => req.destroy(), abort };
}

/** A masked client text frame (payload < 126 bytes). */
function clientFrame(opcode: number, text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = randomBytes(4);
  const masked = payload.map((b, i) => b ^ mask[i % 4]!);
  return Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | payload.length]), mask, masked]);
}

function openWebsocket(base: string, options: ExchangeOptions): Exchange {
  const t = track();
  let closing = false;
  let socket: Socket | null = null;
  const req = http.get(`${base}/ws?every=${options.everyMs ?? 500}`, {
    agent: false,
    headers: {
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-key': randomBytes(16).toString('base64'),
      'sec-websocket-version': '13',
    },
  });
  req.on('upgrade', (_res, upgraded: Socket) => {
    socket = upgraded;
    t.begin();
    // The client speaks too, once a second: a websocket is traffic both ways.
    const timer = setInterval(() => upgraded.write(clientFrame(1, 'ping')), 1000);
    upgraded.on('data', () => {});
    upgraded.on('close', () => {
      clearInterval(timer);
      t.end(closing ? 'completed' : 'cut');
    });
    upgraded.on('error', () => {});
  });
  req.on('response', (res) => {
    res.resume();
    t.end('failed');
  });
  req.on('error', () => t.end(closing ? 'completed' : 'failed'));
  return {
    kind: 'websocket',
    started: t.started,
    outcome: t.outcome,
    close: () => {
      closing = true;
      if (socket) socket.end(clientFrame(8, ''));
      else req.destroy();
      setTimeout(() => socket?.destroy(), 200).unref();
    },
    abort: () => {
      socket?.destroy();
      req.destroy();
      t.end('cut');
    },
  };
}
