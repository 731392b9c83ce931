import type { LoadedConfig } from '../config/load.ts';
import { resolvePort } from '../config/resolve-port.ts';
import type { Progress } from '../progress.ts';
import { runSystemctl, showUnit } from './systemctl.ts';

/** What enabling the unit that is about to serve did: the verdict's clause, and whether it was enabled just now. */
export interface BootEnablement {
  clause: string;
  /** Enabled by this call (undone when the switch fails): a unit already enabled stays as it was. */
  changed: boolean;
}

/**
 * Before a switch: the unit that is about to serve `port` starts at boot, so a reboot at any instant of the switch
 * starts what nginx names (the old one is disabled only after). A clause for the verdict; a failure is a WARNING.
 */
export function enableForBoot(config: LoadedConfig, port: number, out: Progress): BootEnablement {
  const { unit } = resolvePort(config, port);
  try {
    const status = showUnit(unit);
    // No such unit (never started under systemd here): nothing to enable.
    if (status.loadState !== 'loaded') return { clause: '', changed: false };
    if (status.unitFileState === 'enabled') return { clause: `; ${unit} starts at boot`, changed: false };
    runSystemctl(['enable', '--quiet', '--', unit]);
    // systemctl enable says nothing and exits 0 for a unit without an [Install] section: ask again.
    const now = showUnit(unit).unitFileState;
    if (now !== 'enabled') {
      const state = now || 'not enableable';
      return {
        clause: `; WARNING: ${unit} will not start at boot (it is ${state}: no [Install] section?)`,
        changed: false,
      };
    }
    out.say(`Enabled ${unit} (starts at boot)`, { unit });
    return { clause: `; ${unit} starts at boot`, changed: true };
  } catch (error) {
    // Verified and about to switch: a unit that cannot be enabled is said, not made the deployment's failure.
    return {
      clause: `; WARNING: ${unit} could not be enabled to start at boot (${(error as Error).message})`,
      changed: false,
    };
  }
}

/**
 * After a switch to `live` (or instead of one): every other port's unit is taken off the boot list but keeps running
 * (rollback stays one switch); `live` null takes them all off (the app runs directly). A clause: '' or a WARNING,
 * never a failure on a host that already switched.
 */
export function disableOtherUnits(config: LoadedConfig, live: number | null, out: Progress): string {
  const failed: string[] = [];
  for (const port of config.ports) {
    if (port === live) continue;
    const { unit } = resolvePort(config, port);
    try {
      disableUnit(unit, out);
    } catch (error) {
      failed.push(`${unit} (${(error as Error).message})`);
    }
  }
  return failed.length > 0 ? `; WARNING: could not take off the boot list: ${failed.join('; ')}` : '';
}

/** Take a unit off the boot list when it is on it; it keeps running. */
export function disableUnit(unit: string, out: Progress, unitFileState = showUnit(unit).unitFileState): void {
  if (unitFileState !== 'enabled') return;
  runSystemctl(['disable', '--quiet', '--', unit]);
  out.say(`Disabled ${unit} (no longer starts at boot)`, { unit });
}
