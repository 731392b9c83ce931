import net from 'node:net';
import { loadBuiltin } from '../builtin.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { urlToHttpOptions } from 'node:url';
import { secureSocket, type TlsSettings } from './tls.ts';
import { DefaultAcceptWaitMs } from '../defaults.ts';

/** Largest body read from a health answer; enough for any actuator document. */
export const MaxHealthBodyBytes = 64 * 1024;

/** What one health request saw. */
export interface ProbeAnswer {
  status: number | null;
  body: string;
  /** Set when no answer came: timeout, refused, reset. */
  error: string | null;
  /** The try ran out of time (no connection or no answer within its budget), rather than being refused or reset. */
  timedOut?: boolean;
  /** The server's TLS certificate failed verification: asking again gets the same certificate. */
  certificateRejected?: boolean;
  /** Null when the connection was proven to belong to the expected process; otherwise why not. */
  attribution: string | null;
  durationMs: number;
}

/** The client end of the connection a health request used, as the server sees it from the other side. */
export interface ClientEnd {
  serverPort: number;
  localAddress: string;
  localPort: number;
}

/** An attribution check: null when proven, 'pending' while the server has not accepted yet, else the reason. */
export type Attribute = (end: ClientEnd) => string | null | 'pending' | Promise<string | null | 'pending'>;

/**
 * One HTTP GET with a time limit, over a connection that is attributed BEFORE the request is sent: once the server
 * has accepted it, /proc names the owner of its side, and that process is the one that answers (a server that
 * closes right after answering would leave nothing to attribute afterwards). An https URL gets TLS over that same
 * attributed connection, its certificate verified as `tls` and the loopback rule say (tls.ts). `timeoutMs` bounds the
 * connect, and then the handshake and answer from when the connection was attributed.
 */
export async function probeOnce(
  url: string,
  timeoutMs: number,
  attribute: Attribute,
  tls?: TlsSettings,
): Promise<ProbeAnswer> {
  const startedAt = Date.now();
  const target = new URL(url);
  const https = target.protocol === 'https:';
  const serverPort = Number(target.port) || (https ? 443 : 80);
  const finish = (answer: Omit<ProbeAnswer, 'durationMs'>): ProbeAnswer => ({
    ...answer,
    durationMs: Date.now() - startedAt,
  });
  const socket = net.connect({ host: target.hostname.replace(/^\[|\]$/g, ''), port: serverPort });
  try {
    const connected = await connectWithin(socket, timeoutMs);
    if (connected !== null)
      return finish({
        status: null,
        body: '',
        error: connected.reason,
        timedOut: connected.timedOut,
        attribution: null,
      });
    const end = { serverPort, localAddress: socket.localAddress ?? '', localPort: socket.localPort ?? 0 };
    let attribution = await attribute(end);
    const acceptUntil = Date.now() + Math.min(DefaultAcceptWaitMs, timeoutMs);
    while (attribution === 'pending' && Date.now() < acceptUntil) {
      // Connected but not yet accepted: the socket waits in the listen queue with no process holding it.
      await sleep(10);
      attribution = await attribute(end);
    }
    if (attribution === 'pending') {
      const connection = `the connection (port ${serverPort} ← ${end.localPort})`;
      attribution = `${connection} was not accepted by any process within ${DefaultAcceptWaitMs} ms`;
    }
    // The server's time starts now: the reads of /proc that attributed the connection were the hook's own time (on a
    // busy host's table, a good part of a second), not the app's, and must not make a prompt answer "no answer".
    const attributedAt = Date.now();
    const remainingMs = () => Math.max(1, timeoutMs - (Date.now() - attributedAt));
    let stream: net.Socket = socket;
    if (https) {
      const secured = await secureSocket(socket, target.hostname, tls, remainingMs());
      if (!('stream' in secured)) return finish({ status: null, body: '', ...secured, attribution });
      stream = secured.stream;
    }
    const answer = await requestOver(stream, target, remainingMs(), timeoutMs);
    return finish({ ...answer, attribution });
  } finally {
    socket.destroy();
  }
}

function connectWithin(socket: net.Socket, timeoutMs: number): Promise<{ reason: string; timedOut: boolean } | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(
      () => resolve({ reason: `no connection within ${timeoutMs} ms`, timedOut: true }),
      timeoutMs,
    );
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(null);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ reason: error.code ?? error.message, timedOut: false });
    });
  });
}

/** Send the GET and read the answer within timeoutMs; a timeout is reported against the whole try's budget. */
function requestOver(
  stream: net.Socket,
  target: URL,
  timeoutMs: number,
  budgetMs: number,
): Promise<Pick<ProbeAnswer, 'status' | 'body' | 'error' | 'timedOut'>> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (answer: Pick<ProbeAnswer, 'status' | 'body' | 'error' | 'timedOut'>) => {
      if (settled) return;
      settled = true;
      request.destroy();
      resolve(answer);
    };
    // Plain HTTP over the stream given, TLS or not: http.get refuses an https: URL, so it gets the URL's parts.
    const parts = { ...urlToHttpOptions(target), protocol: 'http:' };
    const http = loadBuiltin<typeof import('node:http')>('node:http');
    const request = http.get({ ...parts, createConnection: () => stream, headers: { 'user-agent': 'portproof' } });
    request.setTimeout(timeoutMs, () =>
      done({ status: null, body: '', error: `no answer within ${budgetMs} ms`, timedOut: true }),
    );
    request.on('error', (error: NodeJS.ErrnoException) =>
      done({ status: null, body: '', error: error.code ?? error.message }),
    );
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= MaxHealthBodyBytes) chunks.push(chunk);
      });
      response.on('end', () =>
        done({ status: response.statusCode ?? null, body: Buffer.concat(chunks).toString('utf8'), error: null }),
      );
      response.on('error', () =>
        done({ status: response.statusCode ?? null, body: '', error: 'connection closed mid-answer' }),
      );
    });
  });
}
