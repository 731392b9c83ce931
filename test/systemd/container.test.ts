import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readProcessInfo } from '../../src/core/procfs/index.ts';
import { bootContainer, findNspawn, NspawnMissing, type Container } from '../../src/lab/container.ts';

// The test kit itself: a real systemd boots, runs commands and units, survives a reboot, and leaves nothing behind.

function isAlive(pid: number): boolean {
  const info = readProcessInfo(pid);
  return info !== null && info.state !== 'Z';
}

describe('the systemd-nspawn test kit', () => {
  let container: Container;
  const bootMs: number[] = [];

  beforeAll(async () => {
    const startedAt = Date.now();
    container = await bootContainer({ name: 'pp-smoke' });
    bootMs.push(Date.now() - startedAt);
  });
  afterAll(async () => {
    await container?.poweroff();
    console.log(`container boots took ${bootMs.join(', ')} ms`);
  });

  it('fails with the install hint when systemd-nspawn is not on the PATH (never skips)', () => {
    expect(() => findNspawn('/nonexistent', [])).toThrow(NspawnMissing);
    expect(NspawnMissing).toMatch(/apt-get install -y systemd-container/);
  });

  it('boots systemd as PID 1 and runs a command inside, with its exit code and output', async () => {
    const comm = await container.exec(['cat', '/proc/1/comm']);
    expect(comm).toEqual({ code: 0, stdout: 'systemd\n', stderr: '' });
    const failing = await container.exec(['sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect(failing).toEqual({ code: 3, stdout: 'out\n', stderr: 'err\n' });
    const input = await container.exec(['cat'], { input: 'from stdin' });
    expect(input.stdout).toBe('from stdin');
    // Only /usr comes from the host: the rest is the container's own tmpfs.
    expect((await container.exec(['test', '-e', '/work'])).code).not.toBe(0);
  });

  it('runs a hook as the agent does: its exit code comes back; what it leaves behind dies with its unit', async () => {
    // A duration no other process uses marks the leftover (sleep takes no other arguments).
    const marker = `sleep 7${process.pid}`;
    const run = await container.runHookAsAgent(
      ['sh', '-c', `echo "$GREETING"; grep -E "^(0|9[^:]*):" /proc/self/cgroup; setsid ${marker} & exit 1`],
      { GREETING: 'hello from the hook' },
    );
    expect(run.code, run.stderr).toBe(1);
    expect(run.lines[0]).toBe('hello from the hook');
    expect(run.stdout).toMatch(/^0::\/system\.slice\/run-.*\.service$/m);
    // setsid leaves the session, not the cgroup: the unit's end killed the sleep (KillMode=control-group).
    await expect.poll(async () => (await container.exec(['pgrep', '-f', marker])).code, { timeout: 20_000 }).toBe(1);
    // The contrast, so the check above can fail: with KillMode=process the same leftover outlives its unit.
    const spared = `sleep 8${process.pid}`;
    const kept = await container.exec(
      ['systemd-run', '--wait', '--collect', '--quiet', '-p', 'KillMode=process'].concat([
        'sh',
        '-c',
        `setsid ${spared} & exit 0`,
      ]),
    );
    expect(kept.code, kept.stderr).toBe(0);
    expect((await container.exec(['pgrep', '-f', spared])).code).toBe(0);
    await container.exec(['pkill', '-f', spared]);
  });

  it('reboots with a new boot id, keeping the units enabled in the bound unit directory', async () => {
    const unit = 'pp-smoke-sleeper.service';
    fs.writeFileSync(
      path.join(container.unitDir, unit),
      '[Service]\nExecStart=/usr/bin/sleep infinity\n[Install]\nWantedBy=multi-user.target\n',
    );
    expect((await container.systemctl('enable', '--now', unit)).code).toBe(0);
    const bootId = (await container.exec(['cat', '/proc/sys/kernel/random/boot_id'])).stdout;
    const pidBefore = container.pid();

    const startedAt = Date.now();
    await container.reboot();
    bootMs.push(Date.now() - startedAt);

    expect(isAlive(pidBefore)).toBe(false);
    expect((await container.exec(['cat', '/proc/sys/kernel/random/boot_id'])).stdout).not.toBe(bootId);
    const active = await container.systemctl('is-active', unit);
    expect(active.stdout.trim()).toBe('active');
  });

  it('two machines at once have cgroups of their own: a unit of one is not in the tree of the other', async () => {
    const other = await bootContainer({ name: 'pp-other' });
    try {
      const hostCgroup = (pid: number) => fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8');
      expect(hostCgroup(other.pid())).not.toBe(hostCgroup(container.pid()));
      const run = await container.exec(['systemd-run', '--unit=pp-namesake', '/usr/bin/sleep', 'infinity']);
      expect(run.code, run.stderr).toBe(0);
      // One shared tree (both machines started from the same cgroup) would show the first machine's unit here.
      const seen = await other.exec([
        'sh',
        '-c',
        'ls -d /sys/fs/cgroup/system.slice/pp-namesake.service /sys/fs/cgroup/*/system.slice/pp-namesake.service',
      ]);
      expect(seen.stdout).toBe('');
      expect((await container.exec(['ls', '-d', '/sys/fs/cgroup/systemd/system.slice/pp-namesake.service'])).code).toBe(
        0,
      );
      await container.systemctl('stop', 'pp-namesake');
    } finally {
      await other.poweroff();
    }
    for (const dir of other.cgroupDirs()) expect(fs.existsSync(dir), dir).toBe(false);
  });

  it('powers off leaving no process behind: systemd-nspawn, PID 1 and the units all end', async () => {
    const started = await container.exec(['systemd-run', '--unit=pp-smoke-last', '/usr/bin/sleep', 'infinity']);
    expect(started.code, started.stderr).toBe(0);
    const mainPid = Number((await container.systemctl('show', '-P', 'MainPID', 'pp-smoke-last')).stdout);
    expect(mainPid).toBeGreaterThan(1);
    // Every process of the container's PID namespace as the host sees it: PID 1, journald, the sleeper, …
    const ns = fs.readlinkSync(`/proc/${container.pid()}/ns/pid`);
    const hostPids = fs
      .readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .filter((pid) => {
        try {
          return fs.readlinkSync(`/proc/${pid}/ns/pid`) === ns;
        } catch {
          // Gone or unreadable: not ours to count.
          return false;
        }
      })
      .map(Number);
    expect(hostPids.length).toBeGreaterThan(2);
    const nspawnPid = container.nspawnPid();
    const cgroups = container.cgroupDirs();
    expect(cgroups.length).toBeGreaterThan(0);

    await container.poweroff();

    for (const pid of [nspawnPid, ...hostPids]) expect(isAlive(pid), `PID ${pid}`).toBe(false);
    for (const dir of cgroups) expect(fs.existsSync(dir), dir).toBe(false);
  });

  it('a poweroff that hangs (a unit that never stops) ends by killing systemd-nspawn and PID 1', async () => {
    const stuck = await bootContainer({ name: 'pp-stuck', poweroffTimeoutMs: 2000 });
    const nspawnPid = stuck.nspawnPid();
    const pid1 = stuck.pid();
    try {
      fs.writeFileSync(
        path.join(stuck.unitDir, 'pp-never-stops.service'),
        '[Service]\nExecStart=/usr/bin/sleep infinity\nExecStop=/usr/bin/sleep infinity\nTimeoutStopSec=infinity\n',
      );
      expect((await stuck.systemctl('start', 'pp-never-stops.service')).code).toBe(0);
    } finally {
      await stuck.poweroff();
    }
    expect(isAlive(nspawnPid)).toBe(false);
    expect(isAlive(pid1)).toBe(false);
    for (const dir of stuck.cgroupDirs()) expect(fs.existsSync(dir), dir).toBe(false);
  });
});
