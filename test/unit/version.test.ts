import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { VERSION } from '../../src/core/version.ts';

const repo = path.resolve(import.meta.dirname, '../..');

describe('the version', () => {
  it("is package.json's, defined by the build rather than imported into the core", () => {
    expect(VERSION).toBe(JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8')).version);
    expect(fs.readFileSync(path.join(repo, 'src/core/version.ts'), 'utf8')).not.toMatch(/import .*package\.json/);
  });
});
