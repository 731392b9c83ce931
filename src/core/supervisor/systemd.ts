import fs from 'node:fs';
import path from 'node:path';
import type { LoadedConfig } from '../config/load.ts';
import { resolvePort } from '../config/resolve-port.ts';
import { DefaultAbandonGraceMs } from '../defaults.ts';
import { confirmRecordedProcess } from '../ownership/prove-owner.ts';
import type { StoppedProcess } from '../process/free-port.ts';
import type { Progress } from '../progress.ts';
import type { ProcessInfo } from '../procfs/types.ts';
import { describeRun, type StartRecord } from '../state/state.ts';
import { describeBootRival, describeRivalTiming, findBootRivals, type BootRival } from './boot-rivals.ts';
import { disableOtherUnits, disableUnit, enableForBoot, type BootEnablement } from './boot-units.ts';
import { chooseSupervisor } from './choose.ts';
import { adoptCurrentRun, confirmUnitRun, explainUnitExit } from './confirm-unit.ts';
import { assertNoForeignUnit } from './foreign-unit.ts';
import { HookError } from '../errors.ts';
import { showUnit } from './systemctl.ts';
import { UnitDirectory } from './unit-file.ts';
import type { UnitApp } from './unit-run.ts';
import { startUnit, waitForUnitBind } from './unit-start.ts';
import { stopUnit, stopUnitQuietly } from './unit-stop.ts';
import type { PendingStart, SupervisionReport, Supervisor } from './supervisor.ts';

/**
 * `systemd`: a unit per port (portproof's template instance, or the user's own `app.unit`), so systemd restarts the
 * app after a crash and starts the live one at boot; the unit's cgroup is the app's tree. On a host whose PID 1 is
 * systemd it also answers for the port and the boot list when the app runs directly (units left from before).
 */
export const SystemdSupervisor: Supervisor = {
  name: 'systemd',
  prepareStart: startUnderSystemd,
  confirm: confirmUnitRecord,
  adopt: (record) => (record.unit ? adoptCurrentRun({ ...record, unit: record.unit }) : null),
  async dismiss(record, out) {
    if (record.unit === undefined) return '';
    await stopUnitQuietly(record.unit, Date.now() + DefaultAbandonGraceMs + 10_000, out);
    return `stopped ${record.unit}, so that it does not keep restarting`;
  },
  // A unit of the host's own on the port would be restarted by systemd: refused before anything is signalled.
  guardPort(config, port, record) {
    assertNoSocketUnit(port);
    assertNoForeignUnit(port, [resolvePort(config, port).unit, record?.unit ?? '']);
  },
  stopPort: stopPortUnits,
  enableForBoot: (config, port, out) =>
    runsUnits(config) ? enableUnlessRivalled(config, port, out) : { clause: '', changed: false },
  undoEnable(config, port, enabled, out) {
    if (!enabled.changed) return '';
    const { unit } = resolvePort(config, port);
    try {
      disableUnit(unit, out);
      return `${unit} no longer starts at boot`;
    } catch (error) {
      // The failed switch is the verdict; a unit left enabled for boot starts next to the one nginx names, harmlessly.
      out.say(`Could not disable ${unit}: ${(error as Error).message}`);
      return '';
    }
  },
  // Under direct, every unit goes off the boot list: the app runs outside systemd now.
  disableOthers: (config, port, out) => disableOtherUnits(config, runsUnits(config) ? port : null, out),
  findBootRivals,
  describeRestartSource,
  inspect: (config, port, record) => inspectUnit(record?.unit ?? resolvePort(config, port).unit, record),
};

/**
 * A rollback to a unit that does not run from a release portproof keeps (the user's own unit, a fixed app.cwd): the
 * process proved runs the files it started from, but a restart (a crash, a reboot) runs what the directory holds now.
 */
function describeRestartSource(record: StartRecord): string {
  if (record.unit === undefined || record.release !== undefined) return '';
  let dir = '';
  try {
    dir = showUnit(record.unit).workingDirectory;
  } catch {
    // systemctl cannot tell: the clause names the unit without its directory.
  }
  const what = dir.startsWith('/') ? `what ${dir} holds now` : 'the files its ExecStart names now';
  const started = `not necessarily what PID ${record.pid} started from (portproof keeps no release of it)`;
  return `; note: a restart of ${record.unit} runs ${what}, ${started}`;
}

/** A socket unit listening on the port now: systemd itself (PID 1) holds it, which is never signalled; refused. */
function assertNoSocketUnit(port: number): void {
  const rival = findBootRivals([port]).find((r) => r.active);
  if (rival === undefined) return;
  throw new HookError(
    'FOREIGN_UNIT',
    `port ${port} is held by systemd (PID 1) for socket unit ${rival.unit}, which ${describeRivalTiming(rival)}; ` +
      `nothing was signalled (PID 1 never is): run "${rival.fix}"`,
    { port, unit: rival.unit },
  );
}

/**
 * The unit about to serve `port` is enabled for boot, but a verdict says it starts there only when no socket unit of
 * the host's will take the port first; otherwise it says which one wins and the command that retires it.
 */
function enableUnlessRivalled(config: LoadedConfig, port: number, out: Progress): BootEnablement {
  const enabled = enableForBoot(config, port, out);
  const rival: BootRival | undefined = findBootRivals([port]).find((r) => r.atBoot !== '');
  if (rival === undefined || enabled.clause.includes('WARNING')) return enabled;
  const { unit } = resolvePort(config, port);
  return { ...enabled, clause: `; WARNING: ${unit} will not get port ${port} at boot: ${describeBootRival(rival)}` };
}

function runsUnits(config: LoadedConfig): boolean {
  return chooseSupervisor(config) === 'systemd';
}

function startUnderSystemd(config: LoadedConfig, port: number, appDir: string, out: Progress): PendingStart {
  const { unit } = resolvePort(config, port);
  let app: UnitApp | null = null;
  return {
    async launch(untilMs) {
      out.begin(`Starting ${unit} (supervisor: systemd)`, { port, unit });
      // start.timeout covers systemd's start job and the bind alike: a unit that never finishes starting is named.
      app = await startUnit(config, port, appDir, untilMs, out);
      const { info } = app;
      const record = {
        ...describeRun(info),
        log: app.log?.file ?? '',
        unit,
        invocationId: app.invocationId,
        restarts: app.restarts,
        cgroup: info.cgroup,
      };
      return { info, record, said: `${unit} started PID ${info.pid} as ${info.user}` };
    },
    async waitForBind(untilMs) {
      // A unit that fails to bind is stopped by the wait.
      const bound = await waitForUnitBind(app!, port, untilMs, out);
      return { ...bound, clause: ` as ${unit}` };
    },
    // systemd finishes the stop even if SIGKILL ends the hook: the start job and the bind wait included.
    async abandon() {
      if (await stopUnitQuietly(unit, Date.now() + DefaultAbandonGraceMs, out))
        return `stopped ${unit}, which this start had started`;
      return `asked systemd to stop ${unit}, which this start had started (still stopping)`;
    },
  };
}

/**
 * The recorded run, re-read: the same process and still its unit's current run, with the unit's cgroup as its tree.
 * The user's own unit may run as a user of its own: systemd vouches for its main process.
 */
function confirmUnitRecord(record: StartRecord, port: number, config: LoadedConfig, when?: string): ProcessInfo {
  const user = config.app.unit !== undefined ? record.user : config.app.user;
  if (record.unit === undefined) return confirmRecordedProcess(record, port, user, when);
  const unitRecord = { ...record, unit: record.unit };
  confirmUnitRun(unitRecord, port);
  let info: ProcessInfo;
  try {
    info = confirmRecordedProcess(record, port, user, when);
  } catch (error) {
    // Gone before systemd noticed: its exit, once systemd has seen it, is the better reason.
    explainUnitExit(unitRecord, port);
    throw error;
  }
  return record.cgroup ? { ...info, cgroup: record.cgroup } : info;
}

/**
 * Stop the unit that runs the app on `port` (the one the config names, and the one recorded there if the config
 * changed since) and take it off the boot list: systemd stops its whole cgroup. What it leaves listening (a
 * KillMode=process unit's child, an app started directly) is freed after, as any listener.
 */
async function stopPortUnits(
  config: LoadedConfig,
  port: number,
  record: StartRecord | undefined,
  untilMs: number,
  out: Progress,
): Promise<StoppedProcess[]> {
  const configured = resolvePort(config, port).unit;
  // A unit portproof never wrote here (a host that has always run direct) is not asked about: one systemctl less.
  const known = config.app.unit !== undefined || fs.existsSync(path.join(UnitDirectory, configured));
  const units = [...new Set([...(known ? [configured] : []), ...(record?.unit ? [record.unit] : [])])];
  const stopped: StoppedProcess[] = [];
  for (const unit of units) {
    // One look at the unit serves both. Off the boot list first: interrupted during the stop, the port nginx does not
    // serve is not the one that starts at boot.
    const status = showUnit(unit);
    disableUnit(unit, out, status.unitFileState);
    const done = await stopUnit(unit, config.stop.grace, untilMs, out, status);
    if (done?.main) stopped.push({ info: done.main, signal: config.stop.signal, exitedAfterMs: done.tookMs, unit });
  }
  return stopped;
}

/** The port's unit as systemd sees it: state, main PID, restarts since the recorded start, enabled at boot. */
function inspectUnit(unit: string, record: StartRecord | null): SupervisionReport {
  const status = showUnit(unit);
  if (status.loadState !== 'loaded') return { unit, activeState: status.loadState };
  const since = record?.unit === unit && record.restarts !== undefined ? record.restarts : 0;
  const dir = status.workingDirectory;
  // A release directory can be deleted under a unit that runs from it.
  const gone = dir.startsWith('/') && !fs.existsSync(dir);
  const unitProblem = gone ? `its WorkingDirectory ${dir} is gone: a crash or a reboot cannot start it` : undefined;
  return {
    unit,
    ...(unitProblem ? { unitProblem } : {}),
    activeState: `${status.activeState} (${status.subState})`,
    mainPid: status.mainPid,
    restarts: Math.max(0, status.restarts - since),
    enabled: status.unitFileState === 'enabled',
  };
}
