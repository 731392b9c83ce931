import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listSources, readImports, RepoRoot, resolveImport } from '../support/imports.ts';

describe('one lab kit', () => {
  it('the benches import no test helper: what they share with the tests is in src/lab', () => {
    const offending = listSources('bench').flatMap((file) =>
      readImports(file)
        .filter((spec) => resolveImport(file, spec)?.startsWith(`test${path.sep}`) ?? false)
        .map((spec) => `${file} imports ${spec}`),
    );
    expect(offending).toEqual([]);
  });

  it('test/support re-exports nothing: each module there holds test-only code of its own', () => {
    const shims = listSources('test/support').filter((file) =>
      /^export\s+(\*|\{[^}]*\})\s+from\b/m.test(fs.readFileSync(path.join(RepoRoot, file), 'utf8')),
    );
    expect(shims).toEqual([]);
  });
});
