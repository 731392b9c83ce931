import { HookError } from '../errors.ts';
import { describeProcess } from '../process/describe.ts';
import { readCgroupPath } from '../procfs/cgroup.ts';
import { findListeners } from '../procfs/index.ts';
import type { ProcessInfo } from '../procfs/types.ts';
import { showUnit, type UnitStatus } from './systemctl.ts';

/** A listener on the port that runs in a unit portproof does not stop, and which systemd would start again. */
export interface ForeignHolder {
  owner: ProcessInfo;
  status: UnitStatus;
}

/** The service a cgroup path belongs to: its last `*.service` segment (a unit may delegate sub-cgroups); else null. */
export function unitOfCgroup(cgroup: string | null): string | null {
  const segments = (cgroup ?? '').split('/').filter((s) => s.endsWith('.service'));
  return segments.at(-1) ?? null;
}

/**
 * The holders of `port` whose cgroup is a unit other than `ours` (the units this hook stops through systemd) and
 * other than the hook's own (the CodeDeploy agent's, where a direct start runs), that systemd would bring back: enabled
 * for boot, or with Restart= set. Signalling them would start a fight with systemd, and a reboot would restart them.
 */
export function findForeignHolders(port: number, ours: readonly string[]): ForeignHolder[] {
  const own = unitOfCgroup(readCgroupPath(process.pid));
  const owners = findListeners(port).listeners.flatMap((l) => l.owners);
  const holders: ForeignHolder[] = [];
  const seen = new Map<string, UnitStatus | null>();
  for (const owner of new Map(owners.map((o) => [o.pid, o])).values()) {
    const unit = unitOfCgroup(readCgroupPath(owner.pid));
    // Not in a service (a login session's scope), in our own unit or in one of ours: stopped as it always was.
    if (unit === null || unit === own || ours.includes(unit)) continue;
    if (!seen.has(unit)) seen.set(unit, readIfComesBack(unit));
    const status = seen.get(unit);
    if (status) holders.push({ owner, status });
  }
  return holders;
}

/** Refuse, before anything is signalled, a port a foreign unit holds: named, with the two fixes. */
export function assertNoForeignUnit(port: number, ours: readonly string[]): void {
  const holders = findForeignHolders(port, ours);
  const first = holders[0];
  if (first === undefined) return;
  const { unit } = first.status;
  const why = describeComeback(first.status);
  const who = holders.map((h) => describeProcess(h.owner)).join(', ');
  throw new HookError(
    'FOREIGN_UNIT',
    `port ${port} is held by ${who} of ${unit}, a unit portproof did not write, which systemd would start again ` +
      `(${why}); nothing was signalled: run "systemctl disable --now ${unit}", or set app.unit: ${unit}`,
    { port, unit, pids: holders.map((h) => h.owner.pid) },
  );
}

/** The unit's status when systemd would start it again (at boot, or after its process is killed); else null. */
function readIfComesBack(unit: string): UnitStatus | null {
  let status: UnitStatus;
  try {
    status = showUnit(unit);
  } catch {
    // systemctl cannot tell: the holder is stopped as any listener is, as it was before units were asked about.
    return null;
  }
  if (status.loadState !== 'loaded') return null;
  return describeComeback(status) === '' ? null : status;
}

function describeComeback(status: UnitStatus): string {
  const reasons: string[] = [];
  if (status.unitFileState.startsWith('enabled')) reasons.push(`${status.unitFileState} at boot`);
  if (status.restart !== '' && status.restart !== 'no') reasons.push(`Restart=${status.restart}`);
  return reasons.join(', ');
}
