import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RepoRoot } from '../../build/paths.ts';
import { checkPortableConfig, loadConfig } from '../../src/core/config/load.ts';
import { InitOptions } from '../../src/cli/commands/init.ts';
import { findNginxBin, renderNginxConf } from '../../src/lab/nginx.ts';

// `portproof init` then `portproof bundle`, as a new user runs them, through the compiled workstation CLI.

const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-adopt-'));
afterAll(() => fs.rmSync(temp, { recursive: true, force: true }));

const cli = (cwd: string, ...args: string[]) =>
  spawnSync(process.execPath, [path.join(RepoRoot, 'bin/portproof.js'), ...args], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });

function freshDir(name: string): string {
  const dir = path.join(temp, name);
  fs.mkdirSync(dir);
  return dir;
}

const initFlags = ['--command', 'java -jar app.jar --server.port={port}', '--user', 'app', '--health', '/health'];

describe('portproof init', () => {
  it('writes a blue/green config the hooks accept, an appspec, and says what changes on the host', () => {
    const dir = freshDir('shop');
    const run = cli(dir, 'init', ...initFlags);
    expect([run.status, run.stderr]).toEqual([0, '']);
    for (const file of ['portproof.yml', 'portproof.schema.json', 'appspec.yml', 'nginx/shop.conf', 'nginx/shop.inc']) {
      expect(run.stdout).toContain(`wrote ${file}`);
    }
    expect(run.stdout).toContain('/var/lib/portproof/shop/');
    expect(run.stdout).toContain('portproof-shop@PORT.service');
    const text = fs.readFileSync(path.join(dir, 'portproof.yml'), 'utf8');
    expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=./portproof.schema.json');
    expect(checkPortableConfig(path.join(dir, 'portproof.yml'))).toEqual([]);
    const config = loadConfig(path.join(dir, 'portproof.yml'), dir, {});
    expect(config.app.command).toEqual(['java', '-jar', 'app.jar', '--server.port={port}']);
    expect([config.app.user, config.ports, config.nginx?.include]).toEqual([
      'app',
      [8081, 8082],
      '/etc/nginx/conf.d/shop-upstream.inc',
    ]);
    for (const line of run.stdout.trim().split('\n')) expect(line.length).toBeLessThanOrEqual(100);
  });

  it('writes in place with one port and no nginx', () => {
    const dir = freshDir('inplace');
    const run = cli(dir, 'init', ...initFlags, '--layout', 'in-place');
    expect(run.status).toBe(0);
    expect(fs.existsSync(path.join(dir, 'nginx'))).toBe(false);
    const config = loadConfig(path.join(dir, 'portproof.yml'), dir, {});
    expect([config.ports, config.nginx]).toEqual([[8080], undefined]);
  });

  it('its nginx site passes a real nginx -t with the seeded include, and fails it with an empty include', () => {
    const dir = freshDir('site');
    const include = path.join(dir, 'service-url.inc');
    expect(cli(dir, 'init', ...initFlags, '--include', include).status).toBe(0);
    const prefix = fs.mkdtempSync(path.join(temp, 'nginx-'));
    for (const sub of ['logs', 'temp', 'conf']) fs.mkdirSync(path.join(prefix, sub));
    const site = fs
      .readFileSync(path.join(dir, 'nginx/site.conf'), 'utf8')
      .replace('listen 80 default_server;', 'listen 127.0.0.1:1 default_server;');
    fs.writeFileSync(path.join(prefix, 'conf/site.conf'), site);
    // The lab's nginx.conf with its server block replaced by the site init wrote.
    const lab = renderNginxConf(prefix, 1, include);
    const conf = `${lab.slice(0, lab.indexOf('  server {'))}  include ${prefix}/conf/site.conf;\n}\n`;
    fs.writeFileSync(path.join(prefix, 'conf/nginx.conf'), conf);
    const nginxTest = () =>
      spawnSync(findNginxBin(), ['-p', prefix, '-c', path.join(prefix, 'conf/nginx.conf'), '-t'], { encoding: 'utf8' });
    fs.copyFileSync(path.join(dir, 'nginx/site.inc'), include);
    const seeded = nginxTest();
    expect(seeded.stderr).toContain('test is successful');
    expect(seeded.status).toBe(0);
    fs.writeFileSync(include, '');
    expect(nginxTest().status).not.toBe(0);
  });

  it('proves and serves: nginx.url set, the site the default server, and the Debian step printed', () => {
    const dir = freshDir('served');
    const run = cli(dir, 'init', ...initFlags);
    const config = loadConfig(path.join(dir, 'portproof.yml'), dir, {});
    expect(config.nginx?.url).toBe('http://127.0.0.1/health');
    const site = fs.readFileSync(path.join(dir, 'nginx/served.conf'), 'utf8');
    expect(site).toMatch(/^\s*listen 80 default_server;$/m);
    expect(run.stdout).toMatch(/^ {2}rm \/etc\/nginx\/sites-enabled\/default.*: on Debian\/Ubuntu it claims port 80/m);
    const url = cli(freshDir('url'), 'init', ...initFlags, '--url', 'https://shop.example.com/health');
    expect(url.status).toBe(0);
    const bad = cli(freshDir('badurl'), 'init', ...initFlags, '--url', 'shop/health');
    expect([bad.status, bad.stderr.trim()]).toEqual([
      2,
      'portproof init: --url shop/health: a URL through nginx, like http://127.0.0.1/health',
    ]);
  });

  it("its site beside Debian's sites-enabled/default: nginx -t refuses both, and passes after the printed step", () => {
    const dir = freshDir('debian');
    const include = path.join(dir, 'service-url.inc');
    expect(cli(dir, 'init', ...initFlags, '--include', include).status).toBe(0);
    fs.copyFileSync(path.join(dir, 'nginx/debian.inc'), include);
    // nginx as Debian lays it out, under a private prefix on a loopback port instead of 80.
    const prefix = fs.mkdtempSync(path.join(temp, 'debian-nginx-'));
    for (const sub of ['logs', 'temp', 'conf.d', 'sites-enabled']) fs.mkdirSync(path.join(prefix, sub));
    const onLoopback = (text: string) =>
      text.replaceAll('listen 80 default_server;', 'listen 127.0.0.1:1 default_server;');
    const debianDefault = ['server {', '    listen 80 default_server;', '    root /var/www/html;', '}', ''].join('\n');
    fs.writeFileSync(path.join(prefix, 'sites-enabled/default'), onLoopback(debianDefault));
    fs.writeFileSync(
      path.join(prefix, 'conf.d/debian.conf'),
      onLoopback(fs.readFileSync(path.join(dir, 'nginx/debian.conf'), 'utf8')),
    );
    const lab = renderNginxConf(prefix, 1, include);
    const http = `  include ${prefix}/conf.d/*.conf;\n  include ${prefix}/sites-enabled/*;\n}\n`;
    fs.writeFileSync(path.join(prefix, 'nginx.conf'), `${lab.slice(0, lab.indexOf('  server {'))}${http}`);
    const nginxTest = () =>
      spawnSync(findNginxBin(), ['-p', prefix, '-c', path.join(prefix, 'nginx.conf'), '-t'], { encoding: 'utf8' });
    // Both claim the default server: loud, not "Welcome to nginx!" while the hooks say OK.
    const both = nginxTest();
    expect(both.stderr).toMatch(/duplicate default server/);
    expect(both.status).not.toBe(0);
    fs.rmSync(path.join(prefix, 'sites-enabled/default'));
    expect(nginxTest().status).toBe(0);
  });

  it('splits --command as a shell does, and gives java -jar its --server.port={port}', () => {
    const dir = freshDir('split');
    const command = `java "-Dgreeting=hello world" -Dx='a b' -Dy=c\\ d -jar app.jar`;
    const run = cli(dir, 'init', ...initFlags.slice(2), '--command', command);
    expect([run.status, run.stderr]).toEqual([0, '']);
    expect(run.stdout).toContain('added --server.port={port} to app.command');
    const config = loadConfig(path.join(dir, 'portproof.yml'), dir, {});
    expect(config.app.command).toEqual([
      'java',
      '-Dgreeting=hello world',
      '-Dx=a b',
      '-Dy=c d',
      '-jar',
      'app.jar',
      '--server.port={port}',
    ]);
    // A command that names its port already is left as written.
    const own = freshDir('own-port');
    expect(cli(own, 'init', ...initFlags.slice(2), '--command', 'java -Dserver.port={port} -jar app.jar').status).toBe(
      0,
    );
    expect(loadConfig(path.join(own, 'portproof.yml'), own, {}).app.command).toEqual([
      'java',
      '-Dserver.port={port}',
      '-jar',
      'app.jar',
    ]);
    const open = cli(freshDir('open-quote'), 'init', ...initFlags.slice(2), '--command', "java -Dx='a b -jar app.jar");
    expect([open.status, open.stderr.trim()]).toEqual([
      2,
      "portproof init: --command: the ' at character 10 is not closed",
    ]);
  });

  it('--help names exactly the files it writes', () => {
    const dir = freshDir('helped');
    const run = cli(dir, 'init', ...initFlags);
    const written = [...run.stdout.matchAll(/^wrote (\S+)/gm)].map((m) => m[1]!.replace('helped', 'NAME'));
    const help = cli(dir, 'init', '--help').stdout;
    const named = [...help.matchAll(/(?<![\w/.-])((?:nginx\/)?[A-Za-z.]*(?:NAME)?\.(?:yml|json|conf|inc))\b/g)].map(
      (m) => m[1],
    );
    expect(new Set(named)).toEqual(new Set(written));
    for (const flag of Object.keys(InitOptions)) expect(help).toContain(`--${flag}`);
  });

  it('in a terminal, asks for what the flags leave out', () => {
    const dir = freshDir('asked');
    // script(1) gives init a terminal; the answers are typed ahead, as a paste would be.
    const command = `${process.execPath} ${path.join(RepoRoot, 'bin/portproof.js')} init --user app`;
    const run = spawnSync('script', ['-qec', command, '/dev/null'], {
      cwd: dir,
      encoding: 'utf8',
      input: 'in-place\npython3 -m http.server {port}\n/ready\n',
    });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('Layout (blue-green or in-place) [blue-green]: ');
    // Blue/green asks for the URL through nginx that proves the switch.
    const green = freshDir('asked-green');
    const asked = spawnSync('script', ['-qec', command, '/dev/null'], {
      cwd: green,
      encoding: 'utf8',
      input: '\njava -jar app.jar\ny\n/ready\nhttp://127.0.0.1:8080/ready\n',
    });
    expect(asked.status).toBe(0);
    expect(asked.stdout).toContain('URL through nginx that reaches the app [http://127.0.0.1/ready]: ');
    const bg = loadConfig(path.join(green, 'portproof.yml'), green, {});
    expect([bg.nginx?.url, bg.app.command?.at(-1)]).toEqual(['http://127.0.0.1:8080/ready', '--server.port={port}']);
    const config = loadConfig(path.join(dir, 'portproof.yml'), dir, {});
    expect([config.ports, config.app.command, config.health.url]).toEqual([
      [8080],
      ['python3', '-m', 'http.server', '{port}'],
      'http://127.0.0.1:{port}/ready',
    ]);
  });

  it('refuses to overwrite a file without --force, and writes nothing', () => {
    const dir = freshDir('taken');
    fs.writeFileSync(path.join(dir, 'appspec.yml'), 'mine\n');
    const run = cli(dir, 'init', ...initFlags);
    expect([run.status, run.stdout]).toEqual([2, '']);
    expect(run.stderr.trim()).toBe(
      `portproof init: appspec.yml already exists in ${dir}: nothing written (--force replaces)`,
    );
    expect(fs.readdirSync(dir)).toEqual(['appspec.yml']);
    expect(cli(dir, 'init', ...initFlags, '--force').status).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'appspec.yml'), 'utf8')).not.toBe('mine\n');
  });

  it('without a terminal, asks for nothing: a missing --command is a usage error', () => {
    const run = cli(freshDir('noterm'), 'init');
    expect(run.status).toBe(2);
    expect(run.stderr.trim()).toMatch(/^portproof init: --command: .*pass it as a flag/);
  });
});

describe('portproof bundle', () => {
  function project(name: string, config?: (text: string) => string): string {
    const dir = freshDir(name);
    expect(cli(dir, 'init', ...initFlags).status).toBe(0);
    if (config) {
      const file = path.join(dir, 'portproof.yml');
      fs.writeFileSync(file, config(fs.readFileSync(file, 'utf8')));
    }
    return dir;
  }

  it.each([
    ['a misspelt key', (t: string) => t.replace('health:', 'helth:'), 'unknown key helth (did you mean health?)'],
    ['ports as strings', (t: string) => t.replace('[8081, 8082]', '["8081", "8082"]'), 'ports.0: must be a whole'],
    ['a bare-number duration', (t: string) => t.replace('grace: 30s', 'grace: 30'), 'stop.grace: 30 has no unit'],
  ])('refuses %s before anything is written, exit 2', (_what, edit, expected) => {
    const dir = project(`bad-${Math.random().toString(36).slice(2)}`, edit);
    const run = cli(dir, 'bundle', '--out', 'rev', '--no-files');
    expect([run.status, run.stdout]).toEqual([2, '']);
    expect(run.stderr.trim().split('\n').at(-1)).toContain(expected);
    expect(fs.existsSync(path.join(dir, 'rev'))).toBe(false);
  });

  it('copies directories with their structure, and says where it wrote and how big', () => {
    const dir = project('tree');
    fs.mkdirSync(path.join(dir, 'target/lib'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'target/app.jar'), 'jar');
    fs.writeFileSync(path.join(dir, 'target/lib/dep.jar'), 'dep');
    fs.mkdirSync(path.join(dir, 'conf'));
    fs.writeFileSync(path.join(dir, 'conf/app.properties'), 'x=1');
    const run = cli(dir, 'bundle', '--out', 'rev', 'target', 'conf/app.properties');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const out = path.join(dir, 'rev');
    const files = fs.readdirSync(path.join(out, 'app'), { recursive: true }).map(String).sort();
    expect(files).toEqual([
      'conf',
      'conf/app.properties',
      'target',
      'target/app.jar',
      'target/lib',
      'target/lib/dep.jar',
    ]);
    const [first, second] = run.stdout.trim().split('\n');
    expect(first).toMatch(new RegExp(`^wrote the revision for linux-x64 to ${out} \\(8 files, \\d+\\.\\d MB\\)$`));
    expect(second).toContain(`--source ${out}`);
  });
});
