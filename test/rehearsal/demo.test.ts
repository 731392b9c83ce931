// npm start's rehearsal, end to end through the compiled hooks: behind a private nginx, and in place without one.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runRehearsal } from '../../src/rehearsal/demo.ts';
import { findNginxBin } from '../../src/lab/nginx.ts';
import { isAlive } from '../support/hook-tests.ts';

const repo = path.resolve(import.meta.dirname, '../..');

async function rehearse(findNginx?: () => string) {
  fs.mkdirSync(path.join(repo, '.cache'), { recursive: true });
  const lines: string[] = [];
  const code = await runRehearsal(path.join(repo, 'hooks'), (line) => lines.push(line), findNginx);
  const cleanedUp = lines.at(-1) ?? '';
  const pids = [...(/stopped PIDs ([\d, ]+)/.exec(cleanedUp)?.[1] ?? '').matchAll(/\d+/g)].map(Number);
  const root = /removed (\S+)$/.exec(cleanedUp)?.[1] ?? '';
  return { code, lines, pids, root };
}

function verdicts(lines: string[], event: string): string[] {
  return lines.filter((l) => l.trimStart().startsWith(event)).map((l) => l.trim());
}

describe('the rehearsal (npm start)', () => {
  it('deploys v1 then v2 behind nginx while traffic flows: every verdict OK, zero failed requests, nothing left behind', async () => {
    const { code, lines, pids, root } = await rehearse();
    const text = lines.join('\n');
    expect(code, text).toBe(0);
    expect(verdicts(lines, 'ValidateService')).toHaveLength(2);
    for (const line of verdicts(lines, 'ValidateService'))
      expect(line).toMatch(/portproof ValidateService OK: port \d+ owned by PID \d+ .*nginx now → \d+/);
    expect(text).toMatch(/ApplicationStop +skipped: CodeDeploy runs it from the last successful revision/);
    expect(text).toMatch(/^supervisor: direct \(PID 1 is not systemd\); nothing restarts the sample after a crash$/m);
    expect(text).toMatch(/serving now: v2, PID \d+/);
    expect(text).toMatch(/traffic through nginx: [1-9]\d* requests, 0 failed; served by v1 \d+, v2 [1-9]/);
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    expect(fs.existsSync(root)).toBe(false);
  });

  it('without nginx: says so with the install line and rehearses the in-place topology', async () => {
    const { code, lines, pids, root } = await rehearse(() => findNginxBin('', []));
    const text = lines.join('\n');
    expect(code, text).toBe(0);
    expect(text).toContain('nginx not found');
    expect(text).toContain('apt-get install -y nginx-light');
    expect(text).toContain('Rehearsing the in-place topology instead');
    expect(
      verdicts(lines, 'ValidateService').every(
        (l) => /OK: port \d+ owned by PID \d+/.test(l) && !l.includes('nginx now'),
      ),
    ).toBe(true);
    expect(text).toMatch(/serving now: v2, PID \d+/);
    expect(pids.length).toBeGreaterThan(0);
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    expect(fs.existsSync(root)).toBe(false);
  });
});
