import { formatDuration } from '../core/config/duration.ts';
import type { Progress } from '../core/progress.ts';
import { cutLine } from '../core/text/clean-line.ts';
import { DefaultProgressEveryMs } from '../core/defaults.ts';
import type { Logger } from './logger.ts';

/** Human lines on stdout, each mirrored to the JSON log; remembers what the hook is doing for an interrupt. */
export class HookOutput implements Progress {
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

  /** A progress line at most every DefaultProgressEveryMs: what, how long so far, until when. */
  progress(startedAt: number, deadlineAt: number): void {
    const now = Date.now();
    if (now - this.lastProgressAt < DefaultProgressEveryMs) return;
    this.lastProgressAt = now;
    const what = this.activity.replace(/^./, (c) => c.toLowerCase());
    // Past the deadline the wait is in its last step (a final check), not "giving up in 0 ms".
    const left = deadlineAt - now >= 1000 ? `gives up in ${formatDuration(deadlineAt - now)}` : 'giving up now';
    this.say(`  still ${what} (${formatDuration(now - startedAt)} so far, ${left})`);
  }
}
