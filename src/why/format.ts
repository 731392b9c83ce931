// Small text helpers shared by the report and the progress lines.
import type { Overview } from './types.ts';

/** Wrap ids compactly: a long list goes on indented continuation lines, never one very long line. */
export const DefaultListWidth = 100;
/** Beyond this many ids a group lists the first ones and a count; --json has them all. */
export const DefaultMaxListedIds = 40;

/** `2025-03-01 10:00:02Z`, or just `10:00:02Z` on the same UTC day as `sameDayAs`. */
export function formatTime(date: Date, sameDayAs?: Date): string {
  const iso = date.toISOString();
  const day = iso.slice(0, 10);
  const clock = `${iso.slice(11, 19)}Z`;
  return sameDayAs !== undefined && sameDayAs.toISOString().slice(0, 10) === day ? clock : `${day} ${clock}`;
}

/** The console's instance counts in one phrase: `3 succeeded, 7 failed, 0 skipped, 0 in progress, 0 pending`. */
export function describeOverview(o: Overview): string {
  const parts = [
    `${o.succeeded} succeeded`,
    `${o.failed} failed`,
    `${o.skipped} skipped`,
    `${o.inProgress} in progress`,
    `${o.pending} pending`,
  ];
  if (o.ready > 0) parts.push(`${o.ready} ready`);
  return parts.join(', ');
}

/** `label: a, b, c,` then continuation lines aligned under the first id; past maxIds, `… and N more`. */
export function wrapList(
  label: string,
  items: string[],
  indent: string,
  width = DefaultListWidth,
  maxIds = DefaultMaxListedIds,
): string[] {
  const shown = items.slice(0, maxIds).map((item, i, all) => (i < all.length - 1 ? `${item},` : item));
  if (items.length > maxIds) shown.push(`… and ${items.length - maxIds} more (see --json)`);
  const head = `${indent}${label}: `;
  const lines: string[] = [];
  let line = head;
  let empty = true;
  for (const word of shown) {
    if (!empty && line.length + 1 + word.length > width) {
      lines.push(line);
      line = ' '.repeat(head.length);
      empty = true;
    }
    line += empty ? word : ` ${word}`;
    empty = false;
  }
  lines.push(line);
  return lines;
}

/** `instance`/`instances` or `target`/`targets`, by count. */
export function pluralize(n: number, word: string): string {
  return `${word}${n === 1 ? '' : 's'}`;
}
