import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config/load.ts';
import { chooseSupervisor, describeAutoFallback } from '../../src/core/supervisor/choose.ts';
import { parseUnitStatus } from '../../src/core/supervisor/systemctl.ts';
import { describeTooOld, parseSystemdVersion } from '../../src/core/supervisor/systemd-version.ts';
import { renderUnit } from '../../src/core/supervisor/unit-file.ts';

// Older systemd (issue 18, item 5), from each release's own `systemctl --version` and `systemctl show` text: the
// version is read once; below 240 the unit has no Type=exec and no append: (the app's output goes to the journal);
// below 232 there is no InvocationID and `auto` stays direct, saying why.

const Versions = {
  'CentOS 7': 'systemd 219\n+PAM +AUDIT +SELINUX +IMA -APPARMOR +SMACK +SYSVINIT +UTMP +LIBCRYPTSETUP +GCRYPT\n',
  'RHEL 8 / Rocky 8 / Alma 8': 'systemd 239 (239-78.el8)\n+PAM +AUDIT +SELINUX +IMA -APPARMOR +SMACK +SYSVINIT\n',
  'Ubuntu 20.04': 'systemd 245 (245.4-4ubuntu3.24)\n+PAM +AUDIT +SELINUX +IMA +APPARMOR +SMACK +SYSVINIT\n',
  'Debian 11': 'systemd 247 (247.3-7+deb11u4)\n+PAM +AUDIT +SELINUX +IMA +APPARMOR +SMACK +SYSVINIT\n',
  'Amazon Linux 2023': 'systemd 252 (252.16-1.amzn2023.0.2)\n+PAM +AUDIT +SELINUX -APPARMOR +IMA +SMACK +SECCOMP\n',
};

/** `systemctl show` of a running unit, as 219 prints it (no InvocationID, no NRestarts) and as 239 does. */
const Show219 = 'MainPID=812\nActiveState=active\nSubState=running\nExecMainCode=0\nExecMainStatus=0\nResult=success\n';
const Show239 = `${Show219}InvocationID=4c1c5f2a6d0b4a8f9d3e2b1a0c9d8e7f\nNRestarts=2\nRestart=on-failure\n`;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-versions-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function config(supervisor: string) {
  const file = path.join(dir, `${supervisor}.yml`);
  const text = `app:\n  name: myapp\n  command: [/bin/true]\n  supervisor: ${supervisor}\nports: [8080]\n`;
  fs.writeFileSync(file, `${text}health:\n  url: http://127.0.0.1:{port}/\nstateDir: ${dir}\n`);
  return loadConfig(file, dir, {});
}

describe('older systemd', () => {
  it('reads the version from each release', () => {
    expect(Object.values(Versions).map(parseSystemdVersion)).toEqual([219, 239, 245, 247, 252]);
    expect(parseSystemdVersion('')).toBeNull();
  });

  it('below 240 the unit starts Type=simple and logs to the journal; from 240 Type=exec and append:', () => {
    const old = renderUnit(config('systemd'), 8080, '/e', 239);
    expect(old).toContain('Type=simple\n');
    expect(old).toContain('StandardOutput=journal\nStandardError=journal\n');
    expect(old).not.toMatch(/append:|Type=exec/);
    const current = renderUnit(config('systemd'), 8080, '/e', 240);
    expect(current).toContain('Type=exec\n');
    expect(current).toContain('StandardOutput=append:');
  });

  it('below 232 auto stays direct with the reason; from 232 it is systemd', () => {
    expect(describeTooOld(219)).toMatch(/systemd 219 has no InvocationID/);
    expect(chooseSupervisor(config('auto'), true, 219)).toBe('direct');
    expect(describeAutoFallback(config('auto'), true, 219)).toMatch(/^WARNING: app\.supervisor auto chose direct/);
    for (const version of [232, 239, 245, 247, 252])
      expect(chooseSupervisor(config('auto'), true, version)).toBe('systemd');
  });

  it("reads each version's systemctl show: a missing InvocationID or NRestarts is empty, not a crash", () => {
    expect(parseUnitStatus('a.service', Show219)).toMatchObject({ mainPid: 812, invocationId: '', restarts: 0 });
    expect(parseUnitStatus('a.service', Show239)).toMatchObject({
      invocationId: '4c1c5f2a6d0b4a8f9d3e2b1a0c9d8e7f',
      restarts: 2,
      restart: 'on-failure',
    });
  });
});
