// --check's exit code, as `systemctl status` has one: scripts branch on it, people read the reasons.
import type { PortReport } from './check.ts';

/** The exit codes of --check, one per state, the first that applies in this order (0 last). */
export const CheckExit = {
  /** The config fails preflight: the hooks would refuse it. */
  ConfigInvalid: 2,
  /** A switch a killed hook left unsettled (the state's "switching" mark): nginx may serve either port. */
  SwitchInterrupted: 8,
  /** nginx is not running, its pid file names something else, it has no workers, or it serves another port. */
  NginxDown: 7,
  /** nginx and the state disagree on the live port, or nginx does not load the include, or it cannot be read. */
  NginxDisagrees: 6,
  /** Nothing listens on the live port (or nothing is live yet). */
  NotListening: 3,
  /** The live port's owner is not the process ApplicationStart recorded there (or that process is gone). */
  NotRecorded: 4,
  /** The live port's recorded owner fails its health check. */
  Unhealthy: 5,
  /** The live port is owned by its recorded process, which is healthy; nginx and the state agree. */
  Healthy: 0,
} as const;

/** What --check concluded: its exit code and, unless healthy, why (most important first). */
export interface CheckStatus {
  exitCode: number;
  healthy: boolean;
  reasons: string[];
}

/** What the status is judged from: preflight problems, nginx's disagreement if any, and the live port's report. */
export interface CheckFacts {
  preflight: string[];
  nginxProblem: string | null;
  /** The running nginx's problem and an unsettled switch (check-nginx.ts); null when none, or in place. */
  nginxDown?: string | null;
  switchInterrupted?: string | null;
  live: PortReport | null;
  /** The live port's recorded process owns every listener on it. */
  liveOwnedByRecord: boolean;
}

/** Judge the facts into one exit code; every applicable reason is kept, the code is the first one's. */
export function judgeCheck(facts: CheckFacts): CheckStatus {
  const found: Array<[number, string]> = [];
  for (const problem of facts.preflight) found.push([CheckExit.ConfigInvalid, `preflight: ${problem}`]);
  if (facts.switchInterrupted) found.push([CheckExit.SwitchInterrupted, facts.switchInterrupted]);
  if (facts.nginxDown) found.push([CheckExit.NginxDown, facts.nginxDown]);
  if (facts.nginxProblem !== null) found.push([CheckExit.NginxDisagrees, facts.nginxProblem]);
  const live = facts.live;
  if (live === null) found.push([CheckExit.NotListening, 'no port is live yet (nothing deployed)']);
  else if (live.owners.length === 0 && live.unknownOwners === 0)
    found.push([CheckExit.NotListening, `live port ${live.port}: nothing listening`]);
  else {
    if (!facts.liveOwnedByRecord) found.push([CheckExit.NotRecorded, describeUnrecorded(live)]);
    if (!live.health.ok) found.push([CheckExit.Unhealthy, `live port ${live.port}: health ${live.health.detail}`]);
  }
  const order: number[] = Object.values(CheckExit);
  found.sort((a, b) => order.indexOf(a[0]) - order.indexOf(b[0]));
  const exitCode = found[0]?.[0] ?? CheckExit.Healthy;
  return { exitCode, healthy: exitCode === CheckExit.Healthy, reasons: found.map(([, reason]) => reason) };
}

function describeUnrecorded(live: PortReport): string {
  const pids = [...new Set(live.owners.map((o) => o.pid))].join(', ');
  const who = pids === '' ? 'an owner that cannot be read' : `PID ${pids}`;
  const recorded = live.recorded;
  if (recorded === null) return `live port ${live.port}: held by ${who}, which no ApplicationStart recorded`;
  const gone = recorded.running ? '' : ', which is gone';
  return `live port ${live.port}: held by ${who}, not (only) by the recorded PID ${recorded.pid}${gone}`;
}
