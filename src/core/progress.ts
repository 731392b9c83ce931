// How the core reports what it is doing while it waits, stops or switches: it says, it does not print. The runner's
// output implements this (lines on stdout mirrored to the JSON log); the core never knows where the lines go.

/** What a long step tells the person watching: a line, the step it begins, and that it is still waiting. */
export interface Progress {
  /** Say one short line, with fields for the JSON log. */
  say(text: string, fields?: Record<string, unknown>): void;
  /** Say what begins now: an interrupt names the step last begun. */
  begin(activity: string, fields?: Record<string, unknown>): void;
  /** Still at the step begun last, since `startedAt`, giving up at `deadlineAt` (reporters may throttle it). */
  progress(startedAt: number, deadlineAt: number): void;
}
