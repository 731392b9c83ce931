import fs from 'node:fs';
import net from 'node:net';
import { loadBuiltin } from '../builtin.ts';
import type { ConnectionOptions, TLSSocket } from 'node:tls';
import { cutLine } from '../text/clean-line.ts';

// HTTPS for the health check and the probe through nginx. Over loopback the server is proved by who owns the socket,
// not by its certificate, so the certificate is verified only elsewhere unless health.tls.verify says otherwise.

/** health.tls: a CA (PEM file) to trust instead of the system's, and whether to verify at all. */
export interface TlsSettings {
  ca?: string | undefined;
  verify?: boolean | undefined;
}

/** What a failed handshake carries: an OpenSSL error has library and reason, a verification failure only code. */
export type HandshakeError = Error & { code?: string; reason?: string; library?: string };

/** A TLS session over an already connected socket, or why none could be set up. */
export type SecureResult = { stream: TLSSocket } | { error: string; timedOut: boolean; certificateRejected: boolean };

/** Whether an address is on this host's loopback: 127.0.0.0/8, ::1, or 127.x.y.z mapped into IPv6. */
export function isLoopbackAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === '::1' || bare === '0:0:0:0:0:0:0:1') return true;
  const v4 = bare.startsWith('::ffff:') ? bare.slice('::ffff:'.length) : bare;
  return net.isIPv4(v4) && v4.startsWith('127.');
}

/** Whether to verify the certificate: health.tls.verify when set, otherwise only when the server is not loopback. */
export function shouldVerify(settings: TlsSettings | undefined, remoteAddress: string): boolean {
  return settings?.verify ?? !isLoopbackAddress(remoteAddress);
}

/** The SNI name for a URL's host: the name itself, or none for an IP literal (SNI carries names only, RFC 6066). */
export function chooseServername(hostname: string): string | undefined {
  const bare = hostname.replace(/^\[|\]$/g, '');
  return net.isIP(bare) === 0 ? bare : undefined;
}

/** Start TLS over `socket` (connected to the URL's host) and wait for the handshake, verifying as the rules say. */
export function secureSocket(
  socket: net.Socket,
  hostname: string,
  settings: TlsSettings | undefined,
  timeoutMs: number,
): Promise<SecureResult> {
  const verify = shouldVerify(settings, socket.remoteAddress ?? '');
  const options: ConnectionOptions = {
    socket,
    // The name the certificate is checked against: the URL's host, an IP literal included.
    host: hostname.replace(/^\[|\]$/g, ''),
    servername: chooseServername(hostname),
    rejectUnauthorized: verify,
  };
  if (verify && settings?.ca !== undefined) {
    const ca = readCa(settings.ca);
    if ('problem' in ca) return Promise.resolve({ error: ca.problem, timedOut: false, certificateRejected: false });
    options.ca = ca.pem;
  }
  const stream = loadBuiltin<typeof import('node:tls')>('node:tls').connect(options);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      stream.destroy();
      resolve({ error: `no TLS handshake within ${timeoutMs} ms`, timedOut: true, certificateRejected: false });
    }, timeoutMs);
    stream.once('secureConnect', () => {
      clearTimeout(timer);
      // Errors during the request reach it through http's own listener; one after it (a reset) matters to nobody.
      stream.on('error', () => {});
      resolve({ stream });
    });
    stream.once('error', (error: HandshakeError) => {
      clearTimeout(timer);
      stream.destroy();
      resolve(describeHandshakeError(error, verify));
    });
  });
}

/** A handshake failure as a verdict reads it: a rejected certificate with Node's reason, or what broke it. */
function describeHandshakeError(error: HandshakeError, verify: boolean): SecureResult {
  const code = error.code ?? '';
  // Verification failures carry OpenSSL's X509 names (DEPTH_ZERO_SELF_SIGNED_CERT…) or Node's altname code;
  // protocol failures come from OpenSSL's SSL routines (ERR_SSL_…) and socket failures carry an errno (ECONNRESET).
  const certificate =
    verify &&
    error.library === undefined &&
    (code === 'ERR_TLS_CERT_ALTNAME_INVALID' || (!code.startsWith('ERR_') && /^[A-Z0-9]+(_[A-Z0-9]+)+$/.test(code)));
  if (certificate) {
    // A wrong name is fixed on the server or in the URL; an unknown issuer by trusting it.
    const hint = code === 'ERR_TLS_CERT_ALTNAME_INVALID' ? '' : ' (name its issuing CA in health.tls.ca)';
    // Node 24 appends advice about --use-system-ca, a flag nobody can pass to a compiled hook: keep the reason only.
    const said = firstLine(error.message).split('; ')[0]!;
    const reason = `TLS certificate rejected: ${cutLine(said, 200)}${hint}`;
    return { error: reason, timedOut: false, certificateRejected: true };
  }
  const openssl = error.library !== undefined && error.reason ? error.reason : null;
  const reason = openssl ?? (/^E[A-Z]+$/.test(code) ? code : firstLine(error.message));
  return { error: `TLS handshake failed: ${cutLine(reason, 200)}`, timedOut: false, certificateRejected: false };
}

const caCache = new Map<string, string>();

/** The CA file's PEM text, read once per process; the config check already proved it readable. */
function readCa(file: string): { pem: string } | { problem: string } {
  const cached = caCache.get(file);
  if (cached !== undefined) return { pem: cached };
  try {
    const pem = fs.readFileSync(file, 'utf8');
    caCache.set(file, pem);
    return { pem };
  } catch (error) {
    // Removed or made unreadable after the config was checked: a failed try that names the file.
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    return { problem: `health.tls.ca ${file} cannot be read: ${reason}` };
  }
}

function firstLine(text: string): string {
  return (text.split('\n')[0] ?? text).trim();
}
