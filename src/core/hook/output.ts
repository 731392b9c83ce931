import { formatDuration } from '../config/duration.ts';
import { cleanLine } from './clean-line.ts';
import type { Logger } from './logger.ts';

/** Longest ordinary stdout line in UTF-8 bytes: the console's tail drops every line if one is over ~2 KB. */
export const MaxLineChars = 300;
/** How often a wait prints that it is still waiting. */
export const ProgressEveryMs = 5000;

/** A line fit to print: secrets hidden, control characters stripped, cut to `max` UTF-8 bytes on a code point. */
export function cutLine(text: string, max = MaxLineChars): string {
  return cleanLine(text, max);
}

/** Human lines on stdout, each mirrored to the JSON log; remembers what the hook is doing for an interrupt. */
export class HookOutput {
  activity = 'starting';
  private lastProgressAt = 0;

  constructor(
    private readonly log: Logger,
    private readonly quiet = false,
  ) {}

  /** Say one short line. */
  say(text: string, fields: Record<string, unknown> = {}): void {
    this.log.info(fields, text);
    if (!this.quiet) process.stdout.write(`${cutLine(text)}\n`);
  }

  /** Say what the hook starts doing; an interrupt names it. */
  begin(activity: string, fields: Record<string, unknown> = {}): void {
    this.activity = activity;
    this.lastProgressAt = Date.now();
    this.say(activity, fields);
  }

  /** A progress line at most every ProgressEveryMs: what, how long so far, until when. */
  progress(startedAt: number, deadlineAt: number): void {
    const now = Date.now();
    if (now - this.lastProgressAt < ProgressEveryMs) return;
    this.lastProgressAt = now;
    this.say(`  still ${this.activity.replace(/^./, (c) => c.toLowerCase())} (${formatDuration(now - startedAt)} so far, gives up in ${formatDuration(Math.max(0, deadlineAt - now))})`);
  }
}
