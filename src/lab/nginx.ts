import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { listProcessTree, readProcessInfo } from '../core/procfs/index.ts';
import { runCommand } from '../core/run-command.ts';
import { pollUntil, waitForPort } from './net.ts';

/** The message a test fails with when nginx is missing: tests never skip for it. */
export const NginxMissing = 'nginx not found: install it with "apt-get install -y nginx-light"';

const StartTimeoutMs = 5000;
const StopTimeoutMs = 5000;
const CommandTimeoutMs = 10_000;

/** A private nginx on loopback, proxying to the port its include file names. */
export interface TestNginx {
  prefix: string;
  confPath: string;
  includePath: string;
  pidFile: string;
  errorLog: string;
  /** http://127.0.0.1:<listenPort> */
  url: string;
  nginxBin: string;
  /** argv: [nginx, -p, prefix, -c, conf, -t] */
  testCommand: string[];
  /** argv: [nginx, -p, prefix, -c, conf, -s, reload] */
  reloadCommand: string[];
  readInclude(): string;
  /** Point the include at a port (plain write; the atomic switch is the code under test's job). */
  writeInclude(port: number): void;
  /** Run reloadCommand and wait until the master has a worker it did not have before. */
  reload(timeoutMs?: number): Promise<void>;
  masterPid(): number;
  workerPids(): number[];
  /** Stop nginx, wait until master and workers are gone, remove the prefix. */
  stop(): Promise<void>;
}

/** portproof.yml's nginx section for a lab nginx, probing the app's health through it; `extra` adds or overrides. */
export function nginxSection(
  nginx: Pick<TestNginx, 'includePath' | 'testCommand' | 'reloadCommand' | 'pidFile' | 'url'>,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    include: nginx.includePath,
    test: nginx.testCommand,
    reload: nginx.reloadCommand,
    pidFile: nginx.pidFile,
    url: `${nginx.url}/actuator/health`,
    ...extra,
  };
}

/** The include's line for a port, the one DESIGN.md's nginx.line describes. */
export function renderServiceUrl(port: number): string {
  return `set $service_url http://127.0.0.1:${port};\n`;
}

/** The nginx executable from PATH or /usr/sbin; throws the install hint when there is none. */
export function findNginxBin(searchPath = process.env.PATH ?? '', fallbacks = ['/usr/sbin/nginx']): string {
  const candidates = [
    ...searchPath
      .split(':')
      .filter((dir) => dir !== '')
      .map((dir) => path.join(dir, 'nginx')),
    ...fallbacks,
  ];
  for (const candidate of candidates) {
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // Not in this directory (or not executable): try the next one.
    }
  }
  throw new Error(NginxMissing);
}

/** How a lab nginx differs from the plain one: workers, its http servers, the include's first text, a wrapper. */
export interface NginxLayout {
  /** worker_processes (1 by default). */
  workers?: number;
  /** The server (and upstream) blocks inside http {} for the include's path, instead of one server proxying to it. */
  servers?: (includePath: string) => string;
  /** The include's text at start, instead of the $service_url line for livePort. */
  includeText?: string;
  /** Where the include lives, instead of conf/service-url.inc under the prefix. */
  includePath?: string;
  /** argv put before nginx's own when it is started (to start it in a namespace of its own). */
  wrap?: string[];
}

/** The server block of the plain lab nginx: one location proxying to what the include sets $service_url to. */
export function renderProxyServer(listenPort: number, includePath: string): string {
  return `  server {
    listen 127.0.0.1:${listenPort};
    server_name localhost;

    location / {
      include ${includePath};
      # With a variable and no URI part, nginx passes the client's request URI unchanged. An IP literal needs no
      # resolver; a host name in $service_url would.
      proxy_pass $service_url;
      ${ProxySettings}
    }
  }`;
}

/** The proxy_* settings every lab location uses. */
export const ProxySettings = `proxy_set_header Host $host;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_connect_timeout 2s;
      proxy_send_timeout 5s;
      proxy_read_timeout 5s;
      # Never buffer to a temp file: workers may run as nobody, and test answers are small.
      proxy_max_temp_file_size 0;`;

/** The nginx.conf text for a prefix: everything nginx writes stays inside it. */
export function renderNginxConf(prefix: string, listenPort: number, includePath: string, layout: NginxLayout = {}) {
  const p = (name: string): string => path.join(prefix, name);
  return `daemon on;
master_process on;
worker_processes ${layout.workers ?? 1};
pid ${p('nginx.pid')};
lock_file ${p('nginx.lock')};
error_log ${p('logs/error.log')} notice;

events {
  worker_connections 1024;
}

http {
  # Benchmarks send hundreds of requests a second: no access log to write.
  access_log off;
  client_body_temp_path ${p('temp/client_body')};
  proxy_temp_path ${p('temp/proxy')};
  fastcgi_temp_path ${p('temp/fastcgi')};
  uwsgi_temp_path ${p('temp/uwsgi')};
  scgi_temp_path ${p('temp/scgi')};

${(layout.servers ?? ((include) => renderProxyServer(listenPort, include)))(includePath)}
}
`;
}

/** Start a real nginx on 127.0.0.1:listenPort from a fresh temp prefix, proxying to 127.0.0.1:livePort. */
export async function startNginx(opts: { listenPort: number; livePort: number } & NginxLayout): Promise<TestNginx> {
  const nginxBin = findNginxBin();
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-nginx-'));
  // Workers run as nobody when the master is root: they must be able to reach the prefix.
  fs.chmodSync(prefix, 0o755);
  for (const dir of ['logs', 'temp', 'conf']) fs.mkdirSync(path.join(prefix, dir));
  const confPath = path.join(prefix, 'conf/nginx.conf');
  const includePath = opts.includePath ?? path.join(prefix, 'conf/service-url.inc');
  fs.writeFileSync(includePath, opts.includeText ?? renderServiceUrl(opts.livePort));
  fs.writeFileSync(confPath, renderNginxConf(prefix, opts.listenPort, includePath, opts));
  const base = [nginxBin, '-p', prefix, '-c', confPath];
  const nginx = makeHandle({ prefix, confPath, includePath, nginxBin, listenPort: opts.listenPort, base });

  const started = await runCommand([...(opts.wrap ?? []), ...base], CommandTimeoutMs);
  if (started.code !== 0)
    throw new Error(`nginx failed to start (exit ${started.code}): ${started.output}${tailErrorLog(nginx.errorLog)}`);
  try {
    await pollUntil(() => readPid(nginx.pidFile) !== null, StartTimeoutMs, `nginx's pid file ${nginx.pidFile}`);
    await waitForPort(opts.listenPort, StartTimeoutMs);
  } catch (error) {
    await nginx.stop();
    throw new Error(`${(error as Error).message}${tailErrorLog(nginx.errorLog)}`);
  }
  return nginx;
}

function makeHandle(o: {
  prefix: string;
  confPath: string;
  includePath: string;
  nginxBin: string;
  listenPort: number;
  base: string[];
}): TestNginx {
  const pidFile = path.join(o.prefix, 'nginx.pid');
  const errorLog = path.join(o.prefix, 'logs/error.log');
  const masterPid = (): number => {
    const pid = readPid(pidFile);
    if (pid === null) throw new Error(`nginx is not running: no pid in ${pidFile}`);
    return pid;
  };
  const workerPids = (): number[] => findChildren(masterPid());
  const reload = async (timeoutMs = StartTimeoutMs): Promise<void> => {
    const before = new Set(workerPids());
    const result = await runCommand([...o.base, '-s', 'reload'], CommandTimeoutMs);
    if (result.code !== 0) throw new Error(`nginx -s reload failed (exit ${result.code}): ${result.output}`);
    // -s reload returns once the signal is sent; the reload has happened when a new worker exists.
    await pollUntil(
      () => workerPids().some((pid) => !before.has(pid)),
      timeoutMs,
      `a new nginx worker${tailErrorLog(errorLog)}`,
    );
  };
  return {
    prefix: o.prefix,
    confPath: o.confPath,
    includePath: o.includePath,
    pidFile,
    errorLog,
    url: `http://127.0.0.1:${o.listenPort}`,
    nginxBin: o.nginxBin,
    testCommand: [...o.base, '-t'],
    reloadCommand: [...o.base, '-s', 'reload'],
    readInclude: () => fs.readFileSync(o.includePath, 'utf8'),
    writeInclude: (port) => fs.writeFileSync(o.includePath, renderServiceUrl(port)),
    reload,
    masterPid,
    workerPids,
    stop: () => stopNginx(o.prefix, pidFile),
  };
}

async function stopNginx(prefix: string, pidFile: string): Promise<void> {
  const master = readPid(pidFile);
  if (master !== null) {
    const all = [master, ...findChildren(master)];
    signalAll(all, 'SIGTERM');
    try {
      await pollUntil(() => all.every((pid) => !isRunning(pid)), StopTimeoutMs, `nginx PIDs ${all.join(', ')} to exit`);
    } catch {
      // A master stuck in shutdown must not outlive the test file.
      signalAll(all, 'SIGKILL');
      await pollUntil(() => all.every((pid) => !isRunning(pid)), StopTimeoutMs, `nginx PIDs ${all.join(', ')} to die`);
    }
  }
  fs.rmSync(prefix, { recursive: true, force: true });
}

function signalAll(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

function readPid(pidFile: string): number | null {
  try {
    const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    // No pid file yet (starting) or any more (stopped).
    return null;
  }
}

/** Running means present and not a zombie: a daemonized master is reaped by init, which may take a moment. */
export function isRunning(pid: number): boolean {
  const info = readProcessInfo(pid);
  return info !== null && info.state !== 'Z';
}

/** The live processes below a parent (nginx's workers below its master). */
function findChildren(parent: number): number[] {
  const info = readProcessInfo(parent);
  if (info === null) return [];
  const tree = listProcessTree(info);
  return tree.filter((p) => p.pid !== parent && p.state !== 'Z').map((p) => p.pid);
}

function tailErrorLog(errorLog: string): string {
  try {
    return `\nnginx error.log:\n${fs.readFileSync(errorLog, 'utf8').split('\n').slice(-15).join('\n')}`;
  } catch {
    // nginx failed before it opened its log.
    return '';
  }
}
