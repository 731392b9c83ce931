// Who owns the live port as --check judges it: the run ApplicationStart recorded, or systemd's own restart of that
// run (after a reboot, or Restart=on-failure after a crash), which is adopted and reported rather than failed.
import { rereadProcess, stillOwnsPort } from '../core/procfs/index.ts';
import type { ProcessInfo } from '../core/procfs/types.ts';
import type { StartRecord } from '../core/state/state.ts';
import { supervisorOf } from '../core/supervisor/index.ts';

/** The live port's owner: whether the recorded run (or its unit's restart) owns it, its tree, and the restart. */
export interface LiveOwner {
  owned: boolean;
  /** The owning tree (with its unit's cgroup), for the probe through nginx; null when not owned. */
  tree: ProcessInfo | null;
  /** "myapp-8081.service restarted by systemd at 2026-12-06T12:01:03Z (PID 4711 → 5120, after a reboot)", or null. */
  restart: string | null;
}

/** Judge the live port's owner against its record, adopting (read-only) a restart by the record's own unit. */
export function judgeLiveOwner(record: StartRecord | undefined, port: number): LiveOwner {
  if (!record) return { owned: false, tree: null, restart: null };
  if (stillOwnsPort(record, port)) return { owned: true, tree: treeOf(record), restart: null };
  let adopted: ReturnType<ReturnType<typeof supervisorOf>['adopt']>;
  try {
    adopted = supervisorOf(record).adopt(record);
  } catch {
    // systemd cannot be asked (not PID 1 here, or its bus is down): the record alone is judged.
    adopted = null;
  }
  if (adopted === null || !stillOwnsPort(adopted.record, port)) return { owned: false, tree: null, restart: null };
  const now = adopted.record;
  const reboot = now.bootId !== record.bootId ? ', after a reboot' : '';
  const count = now.restarts ? `, ${now.restarts} restart(s) since` : '';
  const at = now.startedAt ? now.startedAt.replace(/\.\d+Z$/, 'Z') : 'an unknown time';
  const restart = `${record.unit} restarted by systemd at ${at} (PID ${record.pid} → ${now.pid}${reboot}${count})`;
  return { owned: true, tree: treeOf(now), restart };
}

function treeOf(record: StartRecord): ProcessInfo | null {
  const info = rereadProcess(record);
  return info && record.cgroup ? { ...info, cgroup: record.cgroup } : info;
}
