import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config/load.ts';
import { resolvePort } from '../../src/core/config/resolve-port.ts';
import type { HookError } from '../../src/core/errors.ts';
import { checkSupervisor, chooseSupervisor } from '../../src/core/supervisor/choose.ts';
import { renderUnit } from '../../src/core/supervisor/unit-file.ts';
import { parseUnitStatus } from '../../src/core/supervisor/systemctl.ts';
import { parseCgroupPath } from '../../src/core/procfs/cgroup.ts';

// app.supervisor, app.unit and the unit portproof writes, on their own: the systemd tests boot a real systemd.

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-supervisor-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function config(app: string, ports = '[8081, 8082]') {
  const nginx = ports.includes(',') ? 'nginx:\n  include: /etc/nginx/conf.d/service-url.inc\n' : '';
  const text = `app:\n  name: myapp\n${app}ports: ${ports}\nhealth:\n  url: http://127.0.0.1:{port}/\n${nginx}`;
  const file = path.join(dir, `c-${Math.random().toString(36).slice(2)}.yml`);
  fs.writeFileSync(file, text);
  return loadConfig(file, '/opt/bundle', {});
}

function problem(app: string, ports?: string): string {
  try {
    config(app, ports);
  } catch (error) {
    expect((error as HookError).code).toBe('BAD_CONFIG');
    return (error as HookError).message;
  }
  throw new Error('expected the config to be rejected');
}

describe('app.supervisor and app.unit', () => {
  it('defaults to auto: systemd where PID 1 is systemd, direct elsewhere', () => {
    const auto = config('  command: [java, -jar, app.jar]\n');
    expect(auto.app.supervisor).toBe('auto');
    expect(chooseSupervisor(auto, true)).toBe('systemd');
    expect(chooseSupervisor(auto, false)).toBe('direct');
    expect(chooseSupervisor(config('  command: [x]\n  supervisor: direct\n'), true)).toBe('direct');
  });

  it('refuses app.unit together with app.command, naming the key', () => {
    expect(problem('  command: [java]\n  unit: myapp@.service\n')).toMatch(
      /^config .*: app\.unit: myapp@\.service and app\.command cannot both be given: keep one$/,
    );
  });

  it('refuses neither, a template with one port, a plain unit with two, a unit under direct', () => {
    expect(problem('')).toMatch(/app\.command: is required \(or app\.unit: your own unit\)$/);
    expect(problem('  unit: myapp@.service\n', '[8080]')).toMatch(/app\.unit: myapp@\.service is a template/);
    expect(problem('  unit: myapp.service\n')).toMatch(/two ports need a template like myapp@\.service$/);
    expect(problem('  unit: myapp@.service\n  supervisor: direct\n')).toMatch(
      /app\.unit: myapp@\.service needs systemd, but app\.supervisor is direct$/,
    );
    expect(problem('  unit: myapp.socket\n', '[8080]')).toMatch(/app\.unit: must be a systemd service name/);
    expect(problem('  command: [x]\n  supervisor: upstart\n')).toMatch(/app\.supervisor: must be one of auto/);
  });

  it('refuses app.cwd, app.user, app.log and app.env beside app.unit: the unit says those itself', () => {
    const message = problem('  unit: myapp.service\n  user: ec2-user\n  env: { A: b }\n', '[8080]');
    expect(message).toMatch(/app\.user: is not used with app\.unit: set User= in myapp\.service instead/);
    expect(message).toContain('(and 1 more problem above)');
  });

  it('refuses, under systemd, an app.env name systemd would drop (and log with its value)', () => {
    const app = '  command: [/bin/true]\n  supervisor: systemd\n  env: { "A.B": secret-value, OK_1: x }\n';
    const problems = checkSupervisor(config(app, '[8080]'), true, true);
    expect(problems).toEqual([expect.stringMatching(/^app\.env\.A\.B: systemd takes only names of letters/)]);
    expect(problems.join('\n')).not.toContain('secret-value');
  });

  it('names each port its unit: the template instance, the plain unit, or the one portproof writes', () => {
    expect(resolvePort(config('  unit: myapp@.service\n'), 8082).unit).toBe('myapp@8082.service');
    expect(resolvePort(config('  unit: myapp.service\n', '[8080]'), 8080).unit).toBe('myapp.service');
    expect(resolvePort(config('  command: [x]\n'), 8081).unit).toBe('portproof-myapp@8081.service');
  });

  it('says systemd is needed where PID 1 is not systemd, before anything is touched', () => {
    const systemd = config('  command: [x]\n  supervisor: systemd\n');
    expect(checkSupervisor(systemd, false, false)[0]).toMatch(/^app\.supervisor: needs systemd, but PID 1 here is /);
    expect(checkSupervisor(config('  unit: myapp@.service\n'), false, false)[0]).toMatch(/^app\.unit: needs systemd/);
    expect(checkSupervisor(config('  command: [x]\n'), true, false)).toEqual([]);
  });

  it('refuses, under systemd, an app.log in a directory others than root can write', () => {
    const open = fs.mkdtempSync(path.join(dir, 'logs-'));
    fs.chmodSync(open, 0o777);
    const app = `  command: [/bin/true]\n  supervisor: systemd\n  log: ${open}/app-{port}.log\n`;
    const problems = checkSupervisor(config(app, '[8080]'), true, true);
    expect(problems).toEqual([
      expect.stringMatching(/^app\.log: .*writable by group and others \(owner \S+, mode 0777\); systemd opens/),
    ]);
  });
});

describe('the unit portproof writes', () => {
  it('runs the argv quoted from the release directory, stops the whole cgroup, restarts on failure', () => {
    const loaded = config('  command: [/bin/echo, "50% off $HOME", "a\\"b"]\n  user: nobody\n', '[8080]');
    const text = renderUnit(
      { ...loaded, stop: { signal: 'SIGINT', grace: 12_500, drain: 0 } },
      8080,
      '/var/x/unit-8080.env',
    );
    expect(text).toContain('ExecStart="/bin/echo" "50%% off $$HOME" "a\\"b"\n');
    const controls = renderUnit(
      { ...loaded, app: { ...loaded.app, command: ['/bin/echo', 'a\rExecStart=/x\u0001'] } },
      8080,
      '/e',
    );
    expect(controls).toContain('ExecStart="/bin/echo" "a\\x0dExecStart=/x\\x01"\n');
    expect(controls.split('\n').filter((line) => line.startsWith('ExecStart='))).toHaveLength(1);
    expect(text).toContain('WorkingDirectory=/opt/bundle\n');
    expect(text).toContain('User=nobody\n');
    expect(text).toContain('EnvironmentFile=-/var/x/unit-8080.env\n');
    expect(text).toContain('StandardOutput=append:/var/lib/portproof/myapp/app-8080.log\n');
    expect(text).toMatch(/KillMode=control-group\nKillSignal=SIGINT\nTimeoutStopSec=12500ms\nSendSIGKILL=yes\n/);
    expect(text).toMatch(/Restart=on-failure\n/);
    // 0 is "no limit" to systemd: a grace of 0 is the shortest one instead, as direct sends SIGKILL at once.
    expect(renderUnit({ ...loaded, stop: { signal: 'SIGTERM', grace: 0, drain: 0 } }, 8080, '/e')).toContain(
      'TimeoutStopSec=1ms\n',
    );
    expect(text).toMatch(/\[Install\]\nWantedBy=multi-user.target\n$/);
  });
});

describe("docs/systemd.md's unit", () => {
  it('is what portproof writes for the example config on port 8082', () => {
    const repo = path.resolve(import.meta.dirname, '../..');
    const root = '/opt/codedeploy-agent/deployment-root/GROUP-ID/d-EXAMPLE1/deployment-archive';
    const example = loadConfig(path.join(repo, 'portproof.example.yml'), root, {});
    // As on a host with java in /usr/bin, in a revision `portproof bundle` laid out (app/ beside the hooks): the start
    // runs it from its release, at app/'s place there.
    const command = ['/usr/bin/java', ...(example.app.command ?? []).slice(1)];
    const cwd = '/var/lib/portproof/myapp/releases/d-EXAMPLE1/app';
    const loaded = { ...example, app: { ...example.app, command, cwd } };
    const unit = renderUnit(loaded, 8082, '/var/lib/portproof/myapp/unit-8082.env');
    const doc = fs.readFileSync(path.join(repo, 'docs/systemd.md'), 'utf8');
    expect(doc).toContain(`\`\`\`ini\n${unit}\`\`\``);
  });
});

describe('reading systemd', () => {
  it('parses systemctl show, with the last exit as a code or a signal', () => {
    const show =
      'MainPID=0\nActiveState=activating\nSubState=auto-restart\nExecMainCode=2\nExecMainStatus=9\nNRestarts=2\n';
    const status = parseUnitStatus('a.service', show);
    expect(status).toMatchObject({ mainPid: 0, activeState: 'activating', restarts: 2 });
    expect(status.lastExit).toEqual({ code: null, signal: 'SIGKILL' });
    expect(parseUnitStatus('a.service', 'ExecMainCode=1\nExecMainStatus=3\n').lastExit).toEqual({
      code: 3,
      signal: null,
    });
  });

  it('reads the unit cgroup from cgroup v2, hybrid and v1 /proc/PID/cgroup', () => {
    expect(parseCgroupPath('0::/system.slice/a.service\n')).toBe('/system.slice/a.service');
    const hybrid = '9:name=systemd:/system.slice/a.service\n1:cpu:/\n0::/system.slice/a.service\n';
    expect(parseCgroupPath(hybrid)).toBe('/system.slice/a.service');
    expect(parseCgroupPath('3:cpu:/\n1:name=systemd:/system.slice/b.service\n')).toBe('/system.slice/b.service');
    expect(parseCgroupPath('1:name=systemd:/x\n0::\n')).toBe('/x');
    expect(parseCgroupPath('2:cpu:/\n')).toBeNull();
  });
});
