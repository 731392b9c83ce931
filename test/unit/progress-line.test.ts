import { describe, expect, it } from 'vitest';
import { HookOutput } from '../../src/runner/output.ts';
import type { Logger } from '../../src/runner/logger.ts';

// The progress line a waiting hook prints: what, how long so far, and the deadline it keeps.

/** A HookOutput whose lines are collected from its log (quiet: nothing on the test's stdout). */
function collect(): { out: HookOutput; lines: string[] } {
  const lines: string[] = [];
  const log = { info: (_fields: unknown, text: string) => lines.push(text) } as unknown as Logger;
  return { out: new HookOutput(log, true), lines };
}

describe('progress lines', () => {
  it('name the time left, and never "gives up in 0 ms" at or past the deadline', () => {
    const now = Date.now();
    const { out, lines } = collect();
    out.begin('Waiting for port 8082 to be free');
    (out as unknown as { lastProgressAt: number }).lastProgressAt = 0;
    out.progress(now - 6000, now + 30_000);
    (out as unknown as { lastProgressAt: number }).lastProgressAt = 0;
    out.progress(now - 36_000, now - 5);
    expect(lines[1]).toMatch(
      /^ {2}still waiting for port 8082 to be free \(6\.\d s so far, gives up in (29|30)\.\d s\)$/,
    );
    expect(lines[2]).toMatch(/^ {2}still waiting for port 8082 to be free \(36\.\d s so far, giving up now\)$/);
    expect(lines.join('\n')).not.toMatch(/in 0 ms/);
  });
});
