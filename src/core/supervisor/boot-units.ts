import type { LoadedConfig } from '../config/load.ts';
import { resolvePort } from '../config/resolve-port.ts';
import type { Progress } from '../progress.ts';
import type { Supervisor } from './choose.ts';
import { runSystemctl, showUnit } from './systemctl.ts';

/**
 * After a verified switch: the live port's unit starts at boot and the other port's does not, though it keeps running
 * (rollback stays one switch). Under `direct`, no unit of this app starts at boot. A clause for the verdict.
 */
export function moveBootEnablement(config: LoadedConfig, live: number, supervisor: Supervisor, out: Progress): string {
  let clause = '';
  for (const port of config.ports) {
    const { unit } = resolvePort(config, port);
    const status = showUnit(unit);
    // No such unit (never started under systemd here): nothing to enable or disable.
    if (status.loadState !== 'loaded') continue;
    if (port === live && supervisor === 'systemd') {
      if (status.unitFileState === 'enabled') continue;
      try {
        runSystemctl(['enable', '--quiet', '--', unit]);
        // systemctl enable says nothing and exits 0 for a unit without an [Install] section: ask again.
        const now = showUnit(unit).unitFileState;
        if (now !== 'enabled') {
          const state = now || 'not enableable';
          clause = `; WARNING: ${unit} will not start at boot (it is ${state}: no [Install] section?)`;
          continue;
        }
        out.say(`Enabled ${unit} (starts at boot)`, { unit });
        clause = `; ${unit} starts at boot`;
      } catch (error) {
        // The switch is done and recorded: a unit that cannot be enabled is said, not made the deployment's failure.
        clause = `; WARNING: ${unit} could not be enabled to start at boot (${(error as Error).message})`;
      }
    } else {
      disableUnit(unit, out, status.unitFileState);
    }
  }
  return clause;
}

/** Take a unit off the boot list when it is on it; it keeps running. */
export function disableUnit(unit: string, out: Progress, unitFileState = showUnit(unit).unitFileState): void {
  if (unitFileState !== 'enabled') return;
  runSystemctl(['disable', '--quiet', '--', unit]);
  out.say(`Disabled ${unit} (no longer starts at boot)`, { unit });
}
