import { describeExit } from '../process/describe.ts';

// How the steps of a unit's start ended, as `systemctl show` reports each command (ExecStartPre=, ExecStart=, …) and
// the journal's "Control process exited" line: the reason a unit failed before its main process ran.

/** One command of a unit's start, as `systemctl show` printed its last run. */
export interface ExecStep {
  /** ExecStartPre, ExecStart, ExecStartPost. */
  kind: string;
  path: string;
  /** exited, killed, dumped; '' while it never ran. */
  code: string;
  /** The exit status or the signal's number, and systemd's name for it (217/USER, 9/KILL). */
  status: number;
  statusName: string;
}

/** systemd's own exit codes (a step before the exec failed), by number, for a status printed without its name. */
const SystemdSteps: Record<number, string> = {
  200: 'CHDIR',
  203: 'EXEC',
  205: 'LIMITS',
  209: 'STDOUT',
  210: 'CHROOT',
  214: 'SETSCHEDULER',
  216: 'GROUP',
  217: 'USER',
  218: 'CAPABILITIES',
  226: 'NAMESPACE',
  228: 'SECCOMP',
  243: 'CREDENTIALS',
};

/** "could not be started by systemd (step USER, exit code 217)" for systemd's own codes; else as any exit. */
export function describeStepExit(code: number, name = ''): string {
  if (code >= 200 && code <= 243) {
    return `could not be started by systemd (step ${SystemdSteps[code] ?? (name || 'unknown')}, exit code ${code})`;
  }
  return describeExit({ code, signal: null });
}

/** The `ExecStartPre={ path=… ; argv[]=… ; … ; code=exited ; status=217/USER }` lines of `systemctl show`. */
export function parseExecSteps(text: string): ExecStep[] {
  const steps: ExecStep[] = [];
  for (const line of text.split('\n')) {
    const match = /^(ExecStartPre|ExecStart|ExecStartPost)=\{(.*)\}\s*$/.exec(line);
    if (match === null) continue;
    const fields = new Map<string, string>();
    for (const part of match[2]!.split(' ; ')) {
      const eq = part.indexOf('=');
      if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
    }
    const [status, statusName] = (fields.get('status') ?? '0').split('/');
    steps.push({
      kind: match[1]!,
      path: fields.get('path') ?? '',
      code: fields.get('code') ?? '',
      status: Number.parseInt(status ?? '0', 10) || 0,
      statusName: statusName ?? '',
    });
  }
  return steps;
}

/**
 * The first step of the start that failed, in words: "its ExecStartPre /usr/bin/check-db exited with code 1", "its
 * ExecStart /usr/sbin/shopd (Type=forking) could not be started by systemd (step USER, exit code 217)". ExecStart
 * counts only for a forking unit, whose start command is a control process (the main process's exit is told apart).
 */
export function describeFailedStep(steps: readonly ExecStep[], type: string): string | null {
  for (const step of steps) {
    if (step.kind === 'ExecStart' && type !== 'forking') continue;
    const failed = (step.code === 'exited' && step.status !== 0) || step.code === 'killed' || step.code === 'dumped';
    if (!failed) continue;
    const how =
      step.code === 'exited'
        ? describeStepExit(step.status, step.statusName)
        : describeExit({ code: null, signal: `SIG${step.statusName || step.status}` });
    const forking = step.kind === 'ExecStart' ? ' (Type=forking)' : '';
    return `its ${step.kind} ${step.path}${forking} ${how}`;
  }
  return null;
}

/** The commands of a start that run as control processes: ExecStartPre/Post, and ExecStart of a forking unit. */
export function listControlSteps(steps: readonly ExecStep[], type: string): string[] {
  return steps.filter((s) => s.kind !== 'ExecStart' || type === 'forking').map((s) => `${s.kind} ${s.path}`);
}
