import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';

/** Largest body read from a health answer; enough for any actuator document. */
export const MaxHealthBodyBytes = 64 * 1024;

/** What one health request saw. */
export interface ProbeAnswer {
  status: number | null;
  body: string;
  /** Set when no answer came: timeout, refused, reset. */
  error: string | null;
  /** The answer arrived; `attribution` is what the caller's check said about the connection it came over. */
  attribution: string | null;
  durationMs: number;
}

/** The client end of the connection a health request used, as the server sees it from the other side. */
export interface ClientEnd {
  serverPort: number;
  localAddress: string;
  localPort: number;
}

/**
 * One HTTP GET with a per-request timeout. `attribute` runs when the response headers arrive, while the connection
 * is still open, so the caller can ask /proc who owns its server side; its answer (null for proven) is kept.
 */
export function probeOnce(url: string, timeoutMs: number, attribute: (end: ClientEnd) => string | null): Promise<ProbeAnswer> {
  const startedAt = Date.now();
  const target = new URL(url);
  const client = target.protocol === 'https:' ? https : http;
  const serverPort = Number(target.port) || (target.protocol === 'https:' ? 443 : 80);
  return new Promise((resolve) => {
    let settled = false;
    const finish = (answer: Omit<ProbeAnswer, 'durationMs'>) => {
      if (settled) return;
      settled = true;
      request.destroy();
      resolve({ ...answer, durationMs: Date.now() - startedAt });
    };
    const request = client.get(target, { agent: false, headers: { 'user-agent': 'portproof', connection: 'keep-alive' } });
    request.setTimeout(timeoutMs, () => finish({ status: null, body: '', error: `no answer within ${timeoutMs} ms`, attribution: null }));
    request.on('error', (error: NodeJS.ErrnoException) => finish({ status: null, body: '', error: error.code ?? error.message, attribution: null }));
    request.on('response', (response) => {
      const socket = response.socket as Socket;
      const attribution = attribute({ serverPort, localAddress: socket.localAddress ?? '', localPort: socket.localPort ?? 0 });
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= MaxHealthBodyBytes) chunks.push(chunk);
      });
      response.on('end', () => finish({ status: response.statusCode ?? null, body: Buffer.concat(chunks).toString('utf8'), error: null, attribution }));
      response.on('error', () => finish({ status: response.statusCode ?? null, body: '', error: 'connection closed mid-answer', attribution }));
    });
  });
}
