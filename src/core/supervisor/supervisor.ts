import type { LoadedConfig } from '../config/load.ts';
import type { StoppedProcess } from '../process/free-port.ts';
import type { Progress } from '../progress.ts';
import type { ProcessInfo } from '../procfs/types.ts';
import type { StartRecord } from '../state/state.ts';
import type { BootRival } from './boot-rivals.ts';
import type { BootEnablement } from './boot-units.ts';
import type { SupervisorName } from './choose.ts';

// The one shape both supervisors have, so that the flows never ask which one runs: `direct` (a detached session,
// nothing restarts it) and `systemd` (a unit per port, restarted on a crash, started at boot).

/** A start under way: nothing is running until launch(); abandon() stops whatever it started, at any step. */
export interface PendingStart {
  /** Start the app; the process to record before it listens, and its record as this supervisor keeps it. */
  launch(untilMs: number): Promise<LaunchedRun>;
  /** Wait until the launched run listens on the port (a run that fails is stopped); the process that bound. */
  waitForBind(untilMs: number): Promise<BoundRun>;
  /** Stop what this start started (interrupted, or not recordable), waiting briefly; the verdict's clause. */
  abandon(): Promise<string>;
}

/** A run just launched: the process ApplicationStart records first, and the progress line that says so. */
export interface LaunchedRun {
  record: Omit<StartRecord, 'deploymentId' | 'release'>;
  info: ProcessInfo;
  said: string;
}

/** The process that bound: recorded again as it runs now, the time it took, and the verdict's tail. */
export interface BoundRun {
  info: ProcessInfo;
  bindMs: number;
  /** After "listening on port 8082 after 1.2 s": " as app@8082.service", or how the start command ended. */
  clause: string;
}

/** The unit of a port as the supervisor sees it, for --check; empty where nothing supervises the port. */
export interface SupervisionReport {
  unit?: string;
  activeState?: string;
  mainPid?: number;
  /** Restarts since ApplicationStart recorded the unit (all it counted, without a record). */
  restarts?: number;
  /** Starts at boot. */
  enabled?: boolean;
  /** What would keep the unit from starting again after a crash or a reboot. */
  unitProblem?: string;
}

/** The run adopted for a rollback: the record it replaces, and the clause naming the restart. */
export interface AdoptedRun {
  record: StartRecord;
  clause: string;
}

/** What keeps an app running: how a run starts, is confirmed, stopped and dismissed, and what starts at boot. */
export interface Supervisor {
  readonly name: SupervisorName;
  /** Prepare to start the app on `port` from config.app.cwd; `out` gets its progress lines. */
  prepareStart(config: LoadedConfig, port: number, appDir: string, out: Progress): PendingStart;
  /**
   * The recorded run, re-read: still the same process and, under systemd, its unit's current run; returned with its
   * tree (the unit's cgroup). Throws naming how the run ended; `when` dates that ("within the 5.0 s settle").
   */
  confirm(record: StartRecord, port: number, config: LoadedConfig, when?: string): ProcessInfo;
  /** A rollback: the run that replaced the recorded one by this supervisor's own restart; null when none did. */
  adopt(record: StartRecord): AdoptedRun | null;
  /** A run ValidateService rejected, stopped when it would otherwise keep restarting: the clause, or ''. */
  dismiss(record: StartRecord, out: Progress): Promise<string>;
  /** Before anything on `port` is signalled: refuse a holder this supervisor would fight (another unit). */
  guardPort(config: LoadedConfig, port: number, record: StartRecord | undefined): void;
  /** Stop what this supervisor runs on `port`; listeners left after it are freed as any listener. */
  stopPort(
    config: LoadedConfig,
    port: number,
    record: StartRecord | undefined,
    untilMs: number,
    out: Progress,
  ): Promise<StoppedProcess[]>;
  /** Before a switch to `port`: it starts at boot (the old one is taken off only after the switch). */
  enableForBoot(config: LoadedConfig, port: number, out: Progress): BootEnablement;
  /** A failed or interrupted switch: undo what enableForBoot changed; the clause, or ''. */
  undoEnable(config: LoadedConfig, port: number, enabled: BootEnablement, out: Progress): string;
  /** After a switch to `port`: nothing else starts at boot; '' or a WARNING, never a failure. */
  disableOthers(config: LoadedConfig, port: number, out: Progress): string;
  /** A rollback: what a restart of the recorded run would run when its files are not a release portproof keeps. */
  describeRestartSource(record: StartRecord): string;
  /** The host's socket units that hold one of `ports` now or take it at boot (systemd listens for them). */
  findBootRivals(ports: readonly number[]): BootRival[];
  /** The port's unit as this supervisor sees it, for --check. */
  inspect(config: LoadedConfig, port: number, record: StartRecord | null): SupervisionReport;
}
