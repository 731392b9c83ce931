import fs from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitForPort } from '../../src/lab/net.ts';
import { startNginx, type TestNginx } from '../../src/lab/nginx.ts';
import { findFreePort, findFreePorts } from '../../src/lab/ports.ts';
import { stopAll } from '../../src/lab/processes.ts';
import type { HookRun } from '../../src/lab/agent.ts';
import { httpGet } from '../support/app.ts';
import { makeCertificates, removeCertificates, type CertPair, type TestCertificates } from '../support/certs.ts';
import { cleanUpHookTests, deployed, expectVerdict, newStateDir, remember, switchedTo } from '../support/hook-tests.ts';

// HTTPS health checks and the probe through nginx, with certificates the openssl CLI makes for this file.

let certs: TestCertificates;
beforeAll(() => {
  certs = makeCertificates();
});
afterEach(async () => stopAll());
afterAll(async () => {
  await cleanUpHookTests();
  removeCertificates(certs);
});

const HealthPath = '/actuator/health';

function tlsFlags(pair: CertPair): string[] {
  return [`--tls-cert=${pair.cert}`, `--tls-key=${pair.key}`];
}

/** Node's warnings (a deprecation for an IP as TLS servername, among others) go to stderr after the verdict. */
function expectNoWarnings(run: HookRun): void {
  expect(run.stderr).not.toMatch(/warning|DEP0\d+/i);
}

/** Start and validate an in-place deployment of the fixture serving `pair` with the given health block. */
async function deployInPlace(pair: CertPair, health: Record<string, unknown>, host = '127.0.0.1') {
  const port = await findFreePort();
  const { stateDir, revision } = await deployed({
    ports: [port],
    appFlags: tlsFlags(pair),
    health: { url: `https://${host}:{port}${HealthPath}`, timeout: '5s', ...health },
  });
  const start = await revision.run('start');
  expectVerdict(start, 'ApplicationStart', 'OK');
  const pid = remember(stateDir, port);
  return { port, url: `https://${host}:${port}${HealthPath}`, pid, validate: await revision.run('validate') };
}

describe('https health checks with the compiled hooks', () => {
  it('self-signed certificate over loopback: validate passes, proven by socket ownership, no warning', async () => {
    const { port, pid, validate } = await deployInPlace(certs.selfSigned, {});
    expectVerdict(validate, 'ValidateService', 'OK', `port ${port} owned by PID ${pid}`, /healthy \(HTTP 200/);
    expectNoWarnings(validate);
  });

  it('verify: true, a raw @ in the URL password: the rejection names the URL with *** for all of the password', async () => {
    const port = await findFreePort();
    const health = {
      url: `https://monitor:Sup3r@Leaky@127.0.0.1:{port}${HealthPath}`,
      timeout: '5s',
      tls: { verify: true },
    };
    const { stateDir, revision } = await deployed({ ports: [port], appFlags: tlsFlags(certs.selfSigned), health });
    const start = await revision.run('start');
    expectVerdict(start, 'ApplicationStart', 'OK');
    remember(stateDir, port);
    const validate = await revision.run('validate');
    const shown = `https://monitor:***@127.0.0.1:${port}${HealthPath}`;
    expectVerdict(validate, 'ValidateService', 'FAILED', shown, /certificate rejected: self-signed certificate/);
    const log = fs.readFileSync(`${stateDir}/fixture/hooks.log`, 'utf8');
    for (const text of [start.stdout, validate.stdout, validate.stderr, log]) expect(text).not.toMatch(/Leaky|Sup3r/);
  });

  it('a certificate for another name, over localhost: accepted (socket ownership proves the server)', async () => {
    const { port, pid, validate } = await deployInPlace(certs.otherName, {}, 'localhost');
    expectVerdict(validate, 'ValidateService', 'OK', `port ${port} owned by PID ${pid}`, /healthy \(HTTP 200/);
    expectNoWarnings(validate);
  });

  it('verify: true without the CA: one-line verdict naming the URL and "self-signed certificate"', async () => {
    const { url, validate } = await deployInPlace(certs.selfSigned, { tls: { verify: true } });
    expectVerdict(validate, 'ValidateService', 'FAILED', url, /certificate rejected: self-signed certificate/);
    expect(validate.verdict).not.toMatch(/portproof bug/);
    // Verdict at the first rejection, not after health.timeout: the same process would present the same certificate.
    expect(validate.verdict).not.toMatch(/not healthy after/);
    expectNoWarnings(validate);
  });

  it('verify: true with the issuing CA as health.tls.ca: validate passes', async () => {
    const { port, pid, validate } = await deployInPlace(certs.leaf, { tls: { verify: true, ca: certs.ca } });
    expectVerdict(validate, 'ValidateService', 'OK', `port ${port} owned by PID ${pid}`, /healthy \(HTTP 200/);
    expectNoWarnings(validate);
  });

  it('verify: true with the CA, certificate for another name: the verdict says the host does not match', async () => {
    const { url, validate } = await deployInPlace(certs.leafOtherName, { tls: { verify: true, ca: certs.ca } });
    expectVerdict(validate, 'ValidateService', 'FAILED', url, /certificate rejected: Hostname\/IP does not match/);
  });

  it('health.tls.ca that does not exist: a one-line config error naming the key, exit 2, nothing started', async () => {
    const port = await findFreePort();
    const missing = `${certs.dir}/no-such-ca.pem`;
    const { revision } = await deployed({
      ports: [port],
      health: { url: 'https://127.0.0.1:{port}/actuator/health', tls: { ca: missing, verify: true } },
    });
    const start = await revision.run('start');
    expect(start.code).toBe(2);
    expect(start.verdict).toMatch(/portproof ApplicationStart FAILED: config .*: health\.tls\.ca: /);
    expect(start.verdict).toContain(`${missing} not found`);
    await expect(httpGet(`http://127.0.0.1:${port}/`, 500)).rejects.toThrow();
  });
});

describe('blue/green behind a real nginx terminating TLS for nginx.url, with the compiled hooks', () => {
  let nginx: TestNginx;
  let ports: { blue: number; green: number; tls: number };
  afterEach(async () => nginx?.stop());

  /** A private nginx proxying to the live port, plus an ssl listener serving `pair` on ports.tls. */
  async function startTlsNginx(pair: CertPair): Promise<void> {
    const [plain, tlsPort, blue, green] = await findFreePorts(4);
    ports = { blue: blue!, green: green!, tls: tlsPort! };
    nginx = await startNginx({ listenPort: plain!, livePort: ports.green });
    const server = [
      '  server {',
      `    listen 127.0.0.1:${ports.tls} ssl;`,
      `    ssl_certificate ${pair.cert};`,
      `    ssl_certificate_key ${pair.key};`,
      '    location / {',
      `      include ${nginx.includePath};`,
      '      proxy_pass $service_url;',
      '      proxy_connect_timeout 2s;',
      '    }',
      '  }',
      '}',
      '',
    ].join('\n');
    fs.writeFileSync(nginx.confPath, fs.readFileSync(nginx.confPath, 'utf8').replace(/}\s*$/, server));
    await nginx.reload();
    await waitForPort(ports.tls, 5000);
  }

  function deployBehindNginx(health: Record<string, unknown> = {}) {
    return deployed({
      ports: [ports.blue, ports.green],
      stateDir: newStateDir(),
      health,
      nginx: {
        include: nginx.includePath,
        test: nginx.testCommand,
        reload: nginx.reloadCommand,
        pidFile: nginx.pidFile,
        url: `https://127.0.0.1:${ports.tls}${HealthPath}`,
        reloadTimeout: '3s',
      },
    });
  }

  it('self-signed certificate on nginx over loopback: the switch and its https probe pass', async () => {
    await startTlsNginx(certs.selfSigned);
    const { stateDir, revision } = await deployBehindNginx();
    expectVerdict(await revision.run('start'), 'ApplicationStart', 'OK');
    remember(stateDir, ports.blue);
    const validate = await revision.run('validate');
    expectVerdict(validate, 'ValidateService', 'OK', switchedTo(ports.blue));
    expect(validate.stdout).toContain(`Proving requests through https://127.0.0.1:${ports.tls}${HealthPath} reach PID`);
    expectNoWarnings(validate);
    expect(nginx.readInclude()).toContain(`:${ports.blue};`);
  });

  it('verify: true without the CA: the probe fails naming the URL and TLS reason; include restored', async () => {
    await startTlsNginx(certs.selfSigned);
    const include = nginx.readInclude();
    const { stateDir, revision } = await deployBehindNginx({ tls: { verify: true } });
    // The app serves plain http; only the probe through nginx is https, so health passes and the probe decides.
    await revision.run('start');
    remember(stateDir, ports.blue);
    const validate = await revision.run('validate');
    const url = `https://127.0.0.1:${ports.tls}${HealthPath}`;
    expectVerdict(validate, 'ValidateService', 'FAILED', url, /certificate rejected: self-signed certificate/);
    expect(nginx.readInclude()).toBe(include);
  });
});
