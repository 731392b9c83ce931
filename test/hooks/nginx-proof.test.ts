import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startHammer } from '../../src/lab/hammer.ts';
import { waitForPort } from '../../src/lab/net.ts';
import { countTimeWaitRows, fillTimeWait } from '../../src/lab/time-wait.ts';
import { ProxySettings, renderProxyServer, startNginx, type NginxLayout, type TestNginx } from '../../src/lab/nginx.ts';
import { findFreePorts } from '../../src/lab/ports.ts';
import { spawnTracked, stopAll } from '../../src/lab/processes.ts';
import { httpGet, startApp } from '../support/app.ts';
import { budgetFrom, timed } from '../support/budget.ts';
import {
  cleanUpHookTests,
  deployed,
  expectVerdict,
  isAlive,
  nginxSection,
  newStateDir,
  readState,
  switchedTo,
} from '../support/hook-tests.ts';

// An OK verdict claims that requests sent through nginx now reach the new app. Each way a switch can miss users:
// nginx does not read the include, a location names the port itself, nginx.url is served by another server block,
// nginx sees an older copy of the include; and the proof holding with keep-alive on and off, several workers, load.

const NamespaceWrapper = path.resolve(import.meta.dirname, '../fixtures/nginx-private-dir.sh');

let nginx: TestNginx | null = null;
const extraNginx: TestNginx[] = [];
afterEach(async () => {
  await nginx?.stop();
  nginx = null;
  for (const other of extraNginx.splice(0)) await other.stop();
  await stopAll();
});
afterAll(cleanUpHookTests);

interface Bed {
  nginx: TestNginx;
  blue: number;
  green: number;
  stateDir: string;
  /** A second port nginx listens on, for layouts with two servers. */
  other: number;
}

/** A private nginx whose include names green (nothing there yet), laid out by `layout(ports)`. */
async function bed(layout: (p: { listen: number; other: number; blue: number; green: number }) => NginxLayout) {
  const [listen, other, blue, green] = (await findFreePorts(4)) as [number, number, number, number];
  nginx = await startNginx({ listenPort: listen, livePort: green, ...layout({ listen, other, blue, green }) });
  return { nginx, blue, green, other, stateDir: newStateDir() } satisfies Bed;
}

async function deploy(b: Bed, version: string, extra: { nginx?: Record<string, unknown>; previous?: unknown } = {}) {
  const { revision } = await deployed({
    ports: [b.blue, b.green],
    versionTag: version,
    stateDir: b.stateDir,
    nginx: nginxSection(b.nginx, extra.nginx),
  });
  const stop = await revision.run('stop');
  const start = await revision.run('start');
  const validate = start.code === 0 ? await revision.run('validate') : null;
  return { revision, stop, start, validate };
}

const served = async (url: string) => (await httpGet(url)).body.trim();

/** nginx holding its upstream connections (keep-alive): the include is the upstream block's `server` line. */
function keepAliveServers(listen: number) {
  return (include: string) => `  upstream app {
    include ${include};
    keepalive 8;
  }
  server {
    listen 127.0.0.1:${listen};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      ${ProxySettings}
    }
  }`;
}
const KeepAliveLine = { line: 'server 127.0.0.1:{port};' };

/** With PORTPROOF_VERDICT_LOG set, each situation's verdict line is appended there (issue 24's before/after table). */
function report(situation: string, run: { verdict: string }): void {
  const file = process.env.PORTPROOF_VERDICT_LOG;
  if (file) fs.appendFileSync(file, `${situation}\t${run.verdict}\n`);
}

/** A GET kept open: an event stream through nginx, until `close`. Resolves once its first event arrived. */
async function openStream(url: string): Promise<{ close: () => void; events: () => string }> {
  let text = '';
  let close = () => {};
  await new Promise<void>((resolve, reject) => {
    const request = http.get(url, (response) => {
      response.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        resolve();
      });
      response.on('error', () => {});
    });
    request.on('error', reject);
    close = () => request.destroy();
  });
  return { close, events: () => text };
}

describe('nginx must read the include, with the compiled hooks', () => {
  it('a typo in nginx.include: every hook refuses before anything is signalled; validate --port creates nothing', async () => {
    const b = await bed(() => ({}));
    const legacy = startApp([`--port=${b.green}`, '--version-tag=legacy']);
    await waitForPort(b.green, 5000);
    const typo = path.join(path.dirname(b.nginx.includePath), 'service_url.inc');
    const { revision } = await deployed({
      ports: [b.blue, b.green],
      stateDir: b.stateDir,
      nginx: nginxSection(b.nginx, { include: typo }),
    });
    const refusal = `nginx.include ${typo} is not a file nginx reads`;
    const hint = `did you mean ${b.nginx.includePath} ("set $service_url http://127.0.0.1:${b.green};")?`;
    // ApplicationStop of a revision nginx cannot serve must not block the next deployment: a warning, nothing stopped.
    const stop = await revision.run('stop');
    expect(stop.code, stop.stdout).toBe(0);
    expect(stop.verdict).toContain('portproof ApplicationStop WARNING: ');
    expect(stop.verdict).toContain(refusal);
    for (const [event, run] of [
      ['ApplicationStart', await revision.run('start')],
      ['ValidateService', await revision.run('validate', { args: ['--port', String(b.blue)] })],
    ] as const) {
      expect(run.code, run.stdout).toBe(2);
      expect(run.verdict).toContain(`portproof ${event} FAILED: ${refusal}`);
      expect(run.verdict).toContain(hint);
    }
    expect(fs.existsSync(typo)).toBe(false);
    expect(isAlive(legacy.pid)).toBe(true);
    expect(await served(`${b.nginx.url}/`)).toContain('version=legacy');
    const check = await revision.run('validate', { args: ['--check'] });
    expect(check.code, check.stdout).toBe(6);
    expect(check.verdict).toContain('ValidateService UNHEALTHY: ');
  });

  it('an include nginx does not load yet but its include glob would: a first deployment creates it', async () => {
    const b = await bed(({ listen }) => ({
      servers: () =>
        renderProxyServer(listen, 'conf.d/*.inc').replace('include', 'set $service_url http://127.0.0.1:9; include'),
    }));
    const dir = path.join(b.nginx.prefix, 'conf/conf.d');
    fs.mkdirSync(dir);
    const first = await deploy(b, 'v1', { nginx: { include: path.join(dir, 'service-url.inc') } });
    // No upstream keep-alive here: each request's connection may close before /proc shows it ("not observed").
    const proof = `(: \\d of \\d requests through nginx reached| \\(not proved that requests reach it: none of \\d+)`;
    expectVerdict(first.validate!, 'ValidateService', 'OK', new RegExp(`nginx now → ${b.blue}${proof}`));
    expect(await served(`${b.nginx.url}/`)).toContain('version=v1');
  });
});

describe('the switch proved by requests through nginx, with the compiled hooks', () => {
  it('a location that proxies to the port by number: refused before the include is written, the location named', async () => {
    const b = await bed(({ listen, blue }) => ({
      // The include is read (its variable set) but the location ignores it.
      servers: (include: string) =>
        renderProxyServer(listen, include).replace('proxy_pass $service_url;', `proxy_pass http://127.0.0.1:${blue};`),
    }));
    const first = await deploy(b, 'v1');
    expectVerdict(
      first.validate!,
      'ValidateService',
      'FAILED',
      'nginx routes requests to a configured port by number, which no switch moves',
      /location \/ \(.*nginx\.conf line \d+\) proxies there directly/,
      `"proxy_pass http://127.0.0.1:${b.blue};"`,
      `nginx was not switched to port ${b.blue}`,
    );
    expect(b.nginx.readInclude()).toContain(`:${b.green};`);
  });

  it('a quiet location /api/ to the old port beside the include: refused before any traffic, never a plain OK', async () => {
    const b = await bed(({ listen, green }) => ({
      servers: (include: string) =>
        renderProxyServer(listen, include).replace(
          'location / {',
          `location /api/ {\n      proxy_pass http://127.0.0.1:${green};\n      ${ProxySettings}\n    }\n    location / {`,
        ),
    }));
    const legacy = startApp([`--port=${b.green}`, '--version-tag=legacy']);
    await waitForPort(b.green, 5000);
    const first = await deploy(b, 'v1');
    report('route /api/ to the old port', first.validate!);
    expectVerdict(
      first.validate!,
      'ValidateService',
      'FAILED',
      new RegExp(`port ${b.green}: location /api/ \\(.*nginx\\.conf line \\d+\\) proxies there directly`),
      `nginx was not switched to port ${b.blue}`,
    );
    expect(b.nginx.readInclude()).toContain(`:${b.green};`);
    expect(isAlive(legacy.pid)).toBe(true);
    expect(await served(`${b.nginx.url}/`)).toContain('version=legacy');
  });

  it('the include in a server block no request reaches, the served one naming the port: refused, location named', async () => {
    const b = await bed(({ listen, other, blue }) => ({
      servers: (include) => `  server {
    listen 127.0.0.1:${listen};
    location / {
      proxy_pass http://127.0.0.1:${blue};
      ${ProxySettings}
    }
  }
${renderProxyServer(other, include)}`,
    }));
    const first = await deploy(b, 'v1');
    expectVerdict(
      first.validate!,
      'ValidateService',
      'FAILED',
      new RegExp(`port ${b.blue}: location / \\(.*nginx\\.conf line \\d+\\) proxies there directly`),
    );
    expect(b.nginx.readInclude()).toContain(`:${b.green};`);
  });

  it('nginx.url served by another server block that answers by itself: not counted as reaching the app', async () => {
    const b = await bed(({ listen, other }) => ({
      servers: (include) => `${renderProxyServer(listen, include)}
  server {
    listen 127.0.0.1:${other};
    location / { return 200 "static"; }
  }`,
    }));
    const first = await deploy(b, 'v1', { nginx: { url: `http://127.0.0.1:${b.other}/actuator/health` } });
    expectVerdict(
      first.validate!,
      'ValidateService',
      'FAILED',
      `was seen forwarded to port ${b.blue}`,
      'nginx.url may be served by another server or location',
    );
    expect(b.nginx.readInclude()).toContain(`:${b.green};`);
  });

  it('nginx sees an older copy of the include (a bind mount): traffic still reaches the old app, switch undone', () =>
    olderIncludeSeen());

  for (const keepalive of [true, false]) {
    // Without keep-alive an upstream connection lives a millisecond or two and a sample of /proc/net/tcp (a walk of the
    // whole hash, tens of ms on a busy host) may never fall inside one: "not observed" is then the honest clause, never
    // "reached"; with keep-alive the worker holds it and every request is attributed.
    const proved = (port: number, pid: number) =>
      keepalive ? `nginx now → ${port}: 3 of 3 requests through nginx reached PID ${pid}` : switchedTo(port, pid);
    it(`upstream keep-alive ${keepalive ? 'on' : 'off'}, HTTP/1.1, four workers, under load: ${keepalive ? 'proved' : 'proved or not observed'}, zero failed requests`, async () => {
      const b = await bed(({ listen, green }) => ({
        workers: 4,
        includeText: keepalive ? `server 127.0.0.1:${green};\n` : undefined,
        servers: keepalive
          ? keepAliveServers(listen)
          : (include) => renderProxyServer(listen, include).replace('proxy_pass', 'proxy_http_version 1.1; proxy_pass'),
      }));
      const line = keepalive ? KeepAliveLine : {};
      const { value: first, ms: firstMs } = await timed(() => deploy(b, 'v1', { nginx: line }));
      const v1 = readState(b.stateDir).processes[String(b.blue)]!.pid;
      expectVerdict(first.validate!, 'ValidateService', 'OK', proved(b.blue, v1));
      // Budgets from the first deployment's own time: a loaded machine slows both alike.
      const hammer = startHammer(`${b.nginx.url}/`, { maxDurationMs: budgetFrom(3 * firstMs) });
      await hammer.started;
      await hammer.waitUntil((c) => c.ok > 50, budgetFrom(firstMs));
      const second = await deploy(b, 'v2', { nginx: line });
      report(`keep-alive ${keepalive ? 'on' : 'off'}, under load`, second.validate!);
      const v2 = readState(b.stateDir).processes[String(b.green)]!.pid;
      expectVerdict(
        second.validate!,
        'ValidateService',
        'OK',
        proved(b.green, v2),
        `(previous ${b.blue} kept for rollback)`,
      );
      await hammer.waitUntil((c) => (c.byVersion.v2 ?? 0) > 20, budgetFrom(firstMs));
      const result = await hammer.stop();
      expect(result.failed, JSON.stringify(result.failures)).toBe(0);
      expect(await served(`${b.nginx.url}/`)).toContain('version=v2');
    }, 150_000);
  }
});

describe('each request attributed by the socket owners at both ends, with the compiled hooks', () => {
  it('an event stream keeps an old worker on the old app: nothing forgiven, the probes reach the new PID', async () => {
    const b = await bed(({ listen, green }) => ({
      workers: 2,
      includeText: `server 127.0.0.1:${green};\n`,
      servers: keepAliveServers(listen),
    }));
    const first = await deploy(b, 'v1', { nginx: KeepAliveLine });
    expectVerdict(first.validate!, 'ValidateService', 'OK', `nginx now → ${b.blue}`);
    const stream = await openStream(`${b.nginx.url}/events`);
    expect(stream.events()).toContain('version=v1');
    const workersBefore = b.nginx.workerPids();
    const second = await deploy(b, 'v2', { nginx: KeepAliveLine });
    report('an SSE stream on an old worker, route switched', second.validate!);
    const v2 = readState(b.stateDir).processes[String(b.green)]!.pid;
    expectVerdict(
      second.validate!,
      'ValidateService',
      'OK',
      `nginx now → ${b.green}: 3 of 3 requests through nginx reached PID ${v2}`,
    );
    // The stream still runs on a worker of the old config, from the old app.
    expect(b.nginx.workerPids().some((pid) => workersBefore.includes(pid))).toBe(true);
    expect(stream.events()).toContain('version=v1');
    stream.close();
    expect(await served(`${b.nginx.url}/`)).toContain('version=v2');
  }, 150_000);

  it('a scraper polls the old port directly during the switch: not nginx’s connection, the switch stands', async () => {
    const b = await bed(({ listen, green }) => ({
      includeText: `server 127.0.0.1:${green};\n`,
      servers: keepAliveServers(listen),
    }));
    await deploy(b, 'v1', { nginx: KeepAliveLine });
    let scraped = 0;
    let scraping = true;
    const scraper = (async () => {
      while (scraping) {
        // A fresh connection each time, as a metrics scraper without keep-alive makes them.
        await httpGet(`http://127.0.0.1:${b.blue}/`).then(
          () => (scraped += 1),
          () => {},
        );
      }
    })();
    const second = await deploy(b, 'v2', { nginx: KeepAliveLine });
    scraping = false;
    await scraper;
    report('a scraper polling the old port', second.validate!);
    expect(scraped).toBeGreaterThan(0);
    const v2 = readState(b.stateDir).processes[String(b.green)]!.pid;
    expectVerdict(
      second.validate!,
      'ValidateService',
      'OK',
      `nginx now → ${b.green}: 3 of 3 requests through nginx reached PID ${v2}`,
      `(previous ${b.blue} kept for rollback)`,
    );
    expect(b.nginx.readInclude()).toContain(`:${b.green};`);
  }, 150_000);

  it('nginx.pidFile and nginx.reload name another nginx than the one answering nginx.url: FAILED and undone', async () => {
    // The site users reach: its own nginx, proxying to the legacy app on green, never touched by the hooks.
    const b = await bed(() => ({}));
    const legacy = startApp([`--port=${b.green}`, '--version-tag=legacy']);
    await waitForPort(b.green, 5000);
    const [otherListen] = (await findFreePorts(1)) as [number];
    const other = await startNginx({ listenPort: otherListen, livePort: b.green });
    extraNginx.push(other);
    const { revision } = await deployed({
      ports: [b.blue, b.green],
      versionTag: 'v1',
      stateDir: b.stateDir,
      nginx: nginxSection(other, { url: `${b.nginx.url}/actuator/health` }),
    });
    expect((await revision.run('start')).code).toBe(0);
    const validate = await revision.run('validate');
    report('nginx.url answered by another nginx', validate);
    expectVerdict(
      validate,
      'ValidateService',
      'FAILED',
      `is answered by PID ${b.nginx.workerPids()[0]}`,
      `not by a worker of the nginx master PID ${other.masterPid()}`,
      `nginx put back on port ${b.green}`,
    );
    expect(other.readInclude()).toContain(`:${b.green};`);
    expect(isAlive(legacy.pid)).toBe(true);
  }, 150_000);
});

describe('the master nginx.pidFile names, with the compiled hooks', () => {
  it('a pid file naming a process that is not nginx: refused before the include is written', async () => {
    const b = await bed(() => ({}));
    const impostor = spawnTracked(['sleep', '300']);
    const pidFile = path.join(b.stateDir, 'impostor.pid');
    fs.writeFileSync(pidFile, `${impostor.pid}\n`);
    const first = await deploy(b, 'v1', { nginx: { pidFile } });
    report('nginx.pidFile naming a process that is not nginx', first.validate!);
    expectVerdict(
      first.validate!,
      'ValidateService',
      'FAILED',
      `PID ${impostor.pid} is not an nginx master: it runs "sleep 300" (sleep)`,
      `include ${b.nginx.includePath} left unchanged`,
    );
    expect(b.nginx.readInclude()).toContain(`:${b.green};`);
    expect(isAlive(impostor.pid)).toBe(true);
  });
});

describe('--check is a status command, with the compiled hooks', () => {
  it('exit codes: 3 nothing live, 0 healthy, 5 unhealthy, 4 unrecorded owner, 6 nginx and state disagree, 2 preflight', async () => {
    const b = await bed(() => ({}));
    const { revision } = await deployed({
      ports: [b.blue, b.green],
      stateDir: b.stateDir,
      nginx: nginxSection(b.nginx, { url: `${b.nginx.url}/` }),
      appFlags: ['--unhealthy-after-health=2'],
    });
    const check = async () => {
      const text = await revision.run('validate', { args: ['--check'] });
      const json = JSON.parse((await revision.run('validate', { args: ['--check', '--json'] })).stdout);
      expect(json.status).toBe(text.code);
      expect(json.healthy).toBe(text.code === 0);
      return { code: text.code, verdict: text.verdict, reasons: json.reasons as string[] };
    };
    // The include names green, where nothing listens.
    expect(await check()).toMatchObject({ code: 3, reasons: [`live port ${b.green}: nothing listening`] });
    await revision.run('stop');
    expect((await revision.run('start')).code).toBe(0);
    const validate = await revision.run('validate');
    expectVerdict(validate, 'ValidateService', 'OK');
    // Two good answers went to validate (health, settle): the next is 503.
    const unhealthy = await check();
    expect(unhealthy.code, unhealthy.verdict).toBe(5);
    expect(unhealthy.reasons[0]).toContain(`live port ${b.blue}: health`);
    const state = path.join(b.stateDir, 'fixture', 'state.json');
    const pid = JSON.parse(fs.readFileSync(state, 'utf8')).processes[String(b.blue)].pid;
    process.kill(-pid, 'SIGKILL');
    await expect.poll(() => isAlive(pid)).toBe(false);
    const stranger = startApp([`--port=${b.blue}`, '--version-tag=stranger']);
    await waitForPort(b.blue, 5000);
    const unrecorded = await check();
    expect(unrecorded.code).toBe(4);
    expect(unrecorded.reasons[0]).toContain(`held by PID ${stranger.pid}, not (only) by the recorded PID ${pid}`);
    b.nginx.writeInclude(b.green);
    expect((await check()).code).toBe(6);
    b.nginx.writeInclude(b.blue);
    const broken = await deployed({
      ports: [b.blue, b.green],
      stateDir: b.stateDir,
      nginx: nginxSection(b.nginx),
      app: { user: 'no-such-user-pp' },
    });
    const preflight = await broken.revision.run('validate', { args: ['--check'] });
    expect(preflight.code, preflight.stdout).toBe(2);
    expect(preflight.verdict).toContain('preflight: app.user: no user "no-such-user-pp"');
  });
});

describe('a busy host: 100,000 TIME_WAIT rows in /proc/net/tcp, with the compiled hooks', () => {
  // A web server without keep-alive leaves a TIME_WAIT row per request for a minute: the table the hooks read for
  // every listener, health answer and proof sample is then 10 MB. Reading it must neither crash a hook nor starve
  // the request the proof is waiting on (the CI run that failed: "answered no answer within 5000 ms").
  it('start, health and the proof through nginx all hold: OK, 3 of 3 requests reached the new PID', async () => {
    const b = await bed(({ listen, green }) => ({
      includeText: `server 127.0.0.1:${green};\n`,
      servers: keepAliveServers(listen),
    }));
    await fillTimeWait(100_000, 120_000);
    const first = await deploy(b, 'v1', { nginx: KeepAliveLine });
    const second = await deploy(b, 'v2', { nginx: KeepAliveLine });
    const rows = countTimeWaitRows();
    expectVerdict(first.validate!, 'ValidateService', 'OK');
    expectVerdict(second.start, 'ApplicationStart', 'OK');
    const v2 = readState(b.stateDir).processes[String(b.green)]!.pid;
    expectVerdict(
      second.validate!,
      'ValidateService',
      'OK',
      `nginx now → ${b.green}: 3 of 3 requests through nginx reached PID ${v2}`,
    );
    // The table was as large while the hooks read it: the kernel's own count, still near the filler's.
    expect(rows).toBeGreaterThan(80_000);
  }, 240_000);
});

/**
 * nginx's own mount namespace shows it an older copy of the include (a bind mount): the switch's requests still reach
 * the app on green, so ValidateService fails naming green and puts the include back.
 */
async function olderIncludeSeen(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-bind-'));
  fs.chmodSync(root, 0o755);
  const [shown, hidden] = [path.join(root, 'include'), path.join(root, 'copy')];
  for (const dir of [shown, hidden]) fs.mkdirSync(dir, { mode: 0o755 });
  const includePath = path.join(shown, 'service-url.inc');
  const b = await bed(({ green }) => {
    // The copy names green, for good.
    fs.writeFileSync(path.join(hidden, 'service-url.inc'), `set $service_url http://127.0.0.1:${green};\n`);
    return { includePath, wrap: [NamespaceWrapper, hidden, shown] };
  });
  const legacy = startApp([`--port=${b.green}`, '--version-tag=legacy']);
  await waitForPort(b.green, 5000);
  const first = await deploy(b, 'v1');
  report('nginx sees an older copy of the include', first.validate!);
  expectVerdict(
    first.validate!,
    'ValidateService',
    'FAILED',
    `nginx still sends requests to port ${b.green} after the switch to ${b.blue}`,
    `nginx put back on port ${b.green}`,
  );
  expect(fs.readFileSync(includePath, 'utf8')).toContain(`:${b.green};`);
  expect(isAlive(legacy.pid)).toBe(true);
  fs.rmSync(root, { recursive: true, force: true });
}
