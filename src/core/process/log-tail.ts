import fs from 'node:fs';
import { cutLine } from '../text/clean-line.ts';
import { openAppLogForReading } from './app-log.ts';
import { findAppUid } from './user.ts';

/** At most this many app log lines go under a verdict, each cut to LogLineChars. */
export const LogTailLines = 20;
export const LogLineChars = 200;
/** The console shows ~2,048 characters: the log tail gets at most this many, the verdict the rest. */
export const LogTailBudgetChars = 1400;

/**
 * The last lines the app (run as `appUser`) wrote to its log since `fromOffset`, cut to fit under the verdict in the
 * console. Read as openAppLog writes it: no link followed, only a regular file with one link that is the app's.
 */
export function readLogTail(file: string, fromOffset: number, appUser: string | undefined): string[] {
  let text: string;
  try {
    const fd = openAppLogForReading(file, findAppUid(appUser));
    // No log (the program never started, or the file was removed): no tail to show.
    if (fd === null) return [];
    try {
      const size = fs.fstatSync(fd).size;
      const start = Math.max(fromOffset, size - 64 * 1024);
      const buffer = Buffer.alloc(Math.max(0, size - start));
      fs.readSync(fd, buffer, 0, buffer.length, start);
      text = buffer.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch (error) {
    // A log that is not the app's own regular file is not read: the refusal is the tail, said in one line.
    const why = error instanceof Error ? error.message : String(error);
    return [`(log not read: ${cutLine(why, LogLineChars - 20)})`];
  }
  return fitTail(text.split('\n'));
}

/** The last non-empty lines of an app's output, each cut, as many as fit under the verdict in the console. */
export function fitTail(output: string[]): string[] {
  const lines = output
    .map((l) => l.trimEnd())
    .filter((l) => l.length > 0)
    .slice(-LogTailLines);
  const kept: string[] = [];
  let budget = LogTailBudgetChars;
  for (const line of lines.reverse()) {
    const cut = cutLine(line, LogLineChars);
    if (cut.length + 3 > budget) break;
    budget -= cut.length + 3;
    kept.unshift(cut);
  }
  return kept;
}

const ReasonPattern = /in use|exception|error|fail|unable|cannot|denied|not found|refused|killed/i;

/** `: "the reason line"` for a verdict, from an app's last lines; '' when they hold none. */
export function quoteReason(tail: string[]): string {
  const reason = pickReason(tail);
  return reason !== undefined ? `: "${cutLine(reason.trim(), 160)}"` : '';
}

/** The log line that most likely says why the app died: the last one that reads like a reason, else the last. */
export function pickReason(tail: string[]): string | undefined {
  return tail.findLast((line) => ReasonPattern.test(line) && !/^\s*(\*+|at )/.test(line)) ?? tail.at(-1);
}
