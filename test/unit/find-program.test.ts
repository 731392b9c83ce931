import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findProgram, type RunAs } from '../../src/core/config/find-program.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-find-program-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

// Judged by mode bits, as the kernel will once the app runs as this uid: no account is needed for the check.
const stranger: RunAs = { name: 'app', uid: 54321, gids: [54321] };

describe('findProgram: the app user must reach the program through every directory', () => {
  fs.chmodSync(dir, 0o755);
  const home = path.join(dir, 'root-home');
  fs.mkdirSync(path.join(home, '.pyenv/shims'), { recursive: true });
  const python = path.join(home, '.pyenv/shims/python3');
  fs.writeFileSync(python, '#!/bin/sh\n', { mode: 0o755 });
  fs.chmodSync(home, 0o700);

  it("refuses a program under a directory the user cannot search (root's home)", () => {
    expect(findProgram(python, '/', '/usr/bin', stranger)).toEqual({
      problem: `program ${python} cannot be reached by user app: no search (x) permission on ${home}`,
    });
    // The hook's own identity (no app.user) reaches it: the check is about who the app runs as.
    expect(findProgram(python, '/', '/usr/bin', null)).toEqual({ file: python });
  });

  it('refuses one found through PATH, and one whose link points into such a directory', () => {
    expect(findProgram('python3', '/', path.dirname(python), stranger)).toMatchObject({
      problem: expect.stringContaining(`no search (x) permission on ${home}`),
    });
    const link = path.join(dir, 'python3');
    fs.symlinkSync(python, link);
    expect(findProgram(link, '/', '/usr/bin', stranger)).toMatchObject({
      problem: expect.stringContaining(`no search (x) permission on ${home}`),
    });
  });

  it('accepts it once every directory on the way can be searched', () => {
    fs.chmodSync(home, 0o711);
    expect(findProgram(python, '/', '/usr/bin', stranger)).toEqual({ file: python });
    fs.chmodSync(home, 0o700);
  });
});
