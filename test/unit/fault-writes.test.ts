import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../src/core/atomic-write.ts';
import { describeFsError } from '../../src/core/fs-error.ts';
import { openLogDestination } from '../../src/runner/logger.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-writes-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('writes that fail', () => {
  it('the JSON log on a device that is always full (/dev/full) drops lines and never throws', () => {
    const destination = openLogDestination('/dev/full');
    expect(() => {
      destination.write('{"msg":"one"}\n');
      destination.write('{"msg":"two"}\n');
    }).not.toThrow();
  });

  it('an errno is described as the C library says it', () => {
    let error: unknown;
    try {
      fs.writeFileSync('/dev/full', 'x');
    } catch (caught) {
      error = caught;
    }
    expect(describeFsError(error)).toBe('no space left on device (ENOSPC)');
  });

  it('an atomic replace keeps the mode and owner it is given, and leaves no temporary file', () => {
    const file = path.join(root, 'kept.inc');
    writeFileAtomic(file, 'a;\n', { mode: 0o640, uid: 65534, gid: 65534 });
    const stat = fs.statSync(file);
    expect([stat.mode & 0o7777, stat.uid, stat.gid]).toEqual([0o640, 65534, 65534]);
    expect(fs.readdirSync(root).filter((f) => f.includes('kept.inc'))).toEqual(['kept.inc']);
  });
});
