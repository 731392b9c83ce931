import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config/load.ts';
import type { HookError } from '../../src/core/errors.ts';
import { probeOnce } from '../../src/core/health/probe.ts';
import { chooseServername, isLoopbackAddress, shouldVerify } from '../../src/core/health/tls.ts';
import { makeCertificates, removeCertificates, type CertPair, type TestCertificates } from '../support/certs.ts';

let certs: TestCertificates;
const servers: http.Server[] = [];
const warnings: string[] = [];
const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);

beforeAll(() => {
  certs = makeCertificates();
  process.on('warning', onWarning);
});
afterAll(() => {
  process.off('warning', onWarning);
  for (const server of servers) {
    server.closeAllConnections();
    server.close();
  }
  removeCertificates(certs);
});

/** A real server on 127.0.0.1 answering 200 "up": https with `pair`, or plain http without. */
async function serve(pair?: CertPair, onRequest = () => {}): Promise<number> {
  const handler: http.RequestListener = (_req, res) => {
    onRequest();
    res.writeHead(200).end('up');
  };
  const server = pair
    ? https.createServer({ cert: fs.readFileSync(pair.cert), key: fs.readFileSync(pair.key) }, handler)
    : http.createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

describe('the loopback decision', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.10.20.30', true],
    ['::1', true],
    ['[::1]', true],
    ['::ffff:127.0.0.1', true],
    ['10.0.0.5', false],
    ['128.0.0.1', false],
    ['::ffff:10.0.0.5', false],
    ['2001:db8::1', false],
    ['', false],
  ])('%s is loopback: %s', (address, expected) => {
    expect(isLoopbackAddress(address)).toBe(expected);
  });

  it('verifies off loopback by default, not on it; an explicit verify wins either way', () => {
    expect(shouldVerify(undefined, '127.0.0.1')).toBe(false);
    expect(shouldVerify({}, '::1')).toBe(false);
    expect(shouldVerify(undefined, '10.0.0.5')).toBe(true);
    expect(shouldVerify({ ca: '/etc/ca.pem' }, '127.0.0.1')).toBe(false);
    expect(shouldVerify({ verify: true }, '127.0.0.1')).toBe(true);
    expect(shouldVerify({ verify: false }, '10.0.0.5')).toBe(false);
  });

  it('sends SNI for a name, never for an IP literal', () => {
    expect(chooseServername('localhost')).toBe('localhost');
    expect(chooseServername('api.internal.example')).toBe('api.internal.example');
    expect(chooseServername('127.0.0.1')).toBeUndefined();
    expect(chooseServername('[::1]')).toBeUndefined();
  });
});

describe('probeOnce over https', () => {
  it('self-signed over loopback: answered, attributed before the request, and no warning from Node', async () => {
    let attributed = false;
    let attributedWhenAsked: boolean | null = null;
    const port = await serve(certs.selfSigned, () => (attributedWhenAsked = attributed));
    const answer = await probeOnce(`https://127.0.0.1:${port}/health`, 5000, () => {
      attributed = true;
      return null;
    });
    expect(answer).toMatchObject({ status: 200, body: 'up', error: null, attribution: null });
    expect(attributedWhenAsked).toBe(true);
    expect(warnings).toEqual([]);
  });

  it('a certificate for another name over localhost: accepted', async () => {
    const port = await serve(certs.otherName);
    const answer = await probeOnce(`https://localhost:${port}/health`, 5000, () => null);
    expect(answer).toMatchObject({ status: 200, error: null });
  });

  it("verify: true rejects a self-signed certificate with Node's reason, as a certificate failure", async () => {
    const port = await serve(certs.selfSigned);
    const answer = await probeOnce(`https://127.0.0.1:${port}/health`, 5000, () => null, { verify: true });
    expect(answer.status).toBeNull();
    expect(answer.error).toMatch(/^TLS certificate rejected: self-signed certificate/);
    expect(answer.certificateRejected).toBe(true);
  });

  it('verify: true with the issuing CA: answered; with the CA but another name: the name mismatch', async () => {
    const good = await serve(certs.leaf);
    const ok = await probeOnce(`https://127.0.0.1:${good}/health`, 5000, () => null, { verify: true, ca: certs.ca });
    expect(ok).toMatchObject({ status: 200, error: null });
    const other = await serve(certs.leafOtherName);
    const bad = await probeOnce(`https://localhost:${other}/health`, 5000, () => null, { verify: true, ca: certs.ca });
    expect(bad.error).toMatch(/^TLS certificate rejected: Hostname\/IP does not match certificate's altnames/);
    expect(bad.certificateRejected).toBe(true);
  });

  it('an https URL on a plain HTTP server: a handshake failure, not a certificate one', async () => {
    const port = await serve();
    const answer = await probeOnce(`https://127.0.0.1:${port}/health`, 5000, () => null);
    expect(answer.error).toMatch(/^TLS handshake failed: /);
    expect(answer.certificateRejected).toBe(false);
  });
});

describe('health.tls in portproof.yml', () => {
  function write(tls: string): string {
    const file = path.join(certs.dir, `c-${Math.random().toString(36).slice(2)}.yml`);
    const head = 'app: { name: a, command: [java] }\nports: [8081]\nhealth:\n  url: https://127.0.0.1:{port}/h\n';
    fs.writeFileSync(file, `${head}${tls}`);
    return file;
  }

  function errorOf(tls: string): HookError {
    try {
      loadConfig(write(tls), '/opt/bundle', {});
    } catch (error) {
      return error as HookError;
    }
    throw new Error('expected the config to be rejected');
  }

  it('takes a readable CA and verify, and leaves verify unset by default (decided per connection)', () => {
    const config = loadConfig(write(`  tls: { ca: ${certs.ca}, verify: true }\n`), '/opt/bundle', {});
    expect(config.health.tls).toEqual({ ca: certs.ca, verify: true });
    expect(loadConfig(write(''), '/opt/bundle', {}).health.tls).toBeUndefined();
  });

  it('a CA that does not exist, is not PEM, or is relative: one line naming health.tls.ca, exit 2', () => {
    const missing = errorOf(`  tls: { ca: ${certs.dir}/nope.pem }\n`);
    expect(missing.message).toMatch(new RegExp(`health\\.tls\\.ca: ${certs.dir}/nope\\.pem not found$`));
    expect(missing.exitCode).toBe(2);
    const notPem = errorOf(`  tls: { ca: ${certs.selfSigned.key} }\n`);
    expect(notPem.message).toMatch(/health\.tls\.ca: .* holds no PEM certificate/);
    expect(errorOf('  tls: { ca: ca.pem }\n').message).toMatch(
      /health\.tls\.ca: must be an absolute path, got the string "ca\.pem"$/,
    );
    expect(errorOf('  tls: { verify: yes-please }\n').message).toMatch(/health\.tls\.verify: /);
    expect(errorOf('  tls: { cert: /x.pem }\n').message).toMatch(/unknown key health\.tls\.cert/);
  });
});
