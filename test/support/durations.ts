import { expect } from 'vitest';

/** A duration as the hooks print it ("850 ms", "8.0 s", "2 m 5 s") in milliseconds. */
export function parseShownDuration(text: string): number {
  const match = /^(?:(\d+) m(?: (\d+) s)?|(\d+(?:\.\d+)?) s|(\d+) ms)$/.exec(text.trim());
  if (!match) throw new Error(`not a duration as portproof prints one: "${text}"`);
  if (match[1] !== undefined) return Number(match[1]) * 60_000 + Number(match[2] ?? 0) * 1000;
  return match[3] !== undefined ? Number(match[3]) * 1000 : Number(match[4]);
}

/** A duration printed in a line, the one after `label`, e.g. "free after " → 8.1 s → 8100. */
export const ShownDuration = String.raw`(\d+(?:\.\d+)? s|\d+ ms|\d+ m(?: \d+ s)?)`;

/**
 * The duration a line reports after `label`, asserted at least `minMs`: the behaviour (it waited that long) without
 * an upper bound that a loaded machine would break.
 */
export function expectWaitedAtLeast(line: string, label: string, minMs: number): number {
  const match = new RegExp(`${label} ${ShownDuration}`).exec(line);
  expect(match, line).not.toBeNull();
  const ms = parseShownDuration(match![1]!);
  expect(ms).toBeGreaterThanOrEqual(minMs);
  return ms;
}
