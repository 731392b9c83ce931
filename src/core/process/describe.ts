import type { ProcessInfo } from '../procfs/types.ts';

/** A clock time for a process start, as an operator compares it with the deployment's. */
export function formatClock(date: Date): string {
  return date.toISOString().slice(11, 19);
}

/** "java -jar app.jar" cut to fit one console line. */
export function shortCommand(info: Pick<ProcessInfo, 'command'>, max = 80): string {
  return info.command.length <= max ? info.command : `${info.command.slice(0, max - 1)}…`;
}

/** "exited with code 0", "was killed by SIGTERM": how a process ended, as every verdict says it. */
export function describeExit(exit: { code: number | null; signal: string | null }): string {
  return exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code ?? 'unknown'}`;
}

/** PID 4711 (java -jar app-v1.jar, ec2-user, started 09:14:55): a process named so a person can find it. */
export function describeProcess(info: Pick<ProcessInfo, 'pid' | 'command' | 'user' | 'startedAt'>): string {
  return `PID ${info.pid} (${shortCommand(info)}, ${info.user}, started ${formatClock(info.startedAt)})`;
}
