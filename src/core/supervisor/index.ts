import type { StartRecord } from '../state/state.ts';
import type { LoadedConfig } from '../config/load.ts';
import { chooseSupervisor, isSystemdBooted } from './choose.ts';
import { DirectSupervisor } from './direct.ts';
import type { Supervisor } from './supervisor.ts';
import { SystemdSupervisor } from './systemd.ts';

// What the flows know of supervision: which supervisor answers a question, never how it does.

export type { AdoptedRun, BoundRun, LaunchedRun, PendingStart, SupervisionReport, Supervisor } from './supervisor.ts';
export type { BootEnablement } from './boot-units.ts';
export type { BootRival } from './boot-rivals.ts';
export { describeBootRival } from './boot-rivals.ts';
export type { SupervisorName } from './choose.ts';

/** The supervisor a start uses: app.supervisor as it applies on this host (`auto` resolved). */
export function supervisorFor(config: LoadedConfig): Supervisor {
  return chooseSupervisor(config) === 'systemd' ? SystemdSupervisor : DirectSupervisor;
}

/** The supervisor that started a recorded run: it confirms, adopts and dismisses that run. */
export function supervisorOf(record: StartRecord): Supervisor {
  return record.unit !== undefined ? SystemdSupervisor : DirectSupervisor;
}

/**
 * The host's: systemd where it is PID 1, which may hold a port in a unit and decides what starts at boot whichever
 * supervisor the config names; direct elsewhere.
 */
export function hostSupervisor(): Supervisor {
  return isSystemdBooted() ? SystemdSupervisor : DirectSupervisor;
}
