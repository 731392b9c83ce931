import { malformedProcError } from './proc-errors.ts';

/** The fields of /proc/PID/stat portproof uses. */
export interface StatFields {
  comm: string;
  state: string;
  ppid: number;
  pgid: number;
  sid: number;
  /** Field 22: clock ticks after boot. */
  startTime: number;
}

/**
 * Parse /proc/PID/stat. The command name (field 2) is in parentheses and may itself hold spaces and ")", so the
 * fields are read after the LAST ")".
 */
export function parseStat(text: string, fileName = 'stat'): StatFields {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw malformedProcError(`${fileName}: malformed stat line: ${text.slice(0, 80)}`);
  // After ") ": field 3 (state) is index 0, so field N is index N - 3.
  const rest = text
    .slice(close + 2)
    .trim()
    .split(' ');
  const field = (n: number) => rest[n - 3];
  const numbers = [4, 5, 6, 22].map((n) => Number(field(n)));
  if (rest.length < 20 || numbers.some((n) => !Number.isInteger(n))) {
    throw malformedProcError(`${fileName}: malformed stat line: ${text.slice(0, 80)}`);
  }
  const [ppid, pgid, sid, startTime] = numbers as [number, number, number, number];
  return { comm: text.slice(open + 1, close), state: field(3) ?? '?', ppid, pgid, sid, startTime };
}

/** The real uid from /proc/PID/status ("Uid:\treal\teffective\tsaved\tfs"), or null when absent. */
export function parseStatusUid(text: string): number | null {
  const match = /^Uid:\s+(\d+)/m.exec(text);
  return match ? Number(match[1]) : null;
}

/** argv from /proc/PID/cmdline (NUL-separated), joined by spaces; empty for kernel threads and zombies. */
export function parseCmdline(text: string): string {
  return text
    .split('\0')
    .filter((part) => part !== '')
    .join(' ');
}
