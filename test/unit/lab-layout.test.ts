import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const repo = path.resolve(import.meta.dirname, '../..');

/** Every .ts/.mjs file below a folder of the repository, relative to the repository. */
function listSources(folder: string): string[] {
  return fs
    .readdirSync(path.join(repo, folder), { recursive: true, encoding: 'utf8' })
    .filter((file) => /\.(ts|mjs)$/.test(file))
    .map((file) => path.join(folder, file));
}

/** The module specifiers a file imports or re-exports. */
function readImports(file: string): string[] {
  const text = fs.readFileSync(path.join(repo, file), 'utf8');
  return [...text.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+'([^']+)'/gms)].map((m) => m[1]!);
}

describe('one lab kit', () => {
  it('the benches import no test helper: what they share with the tests is in src/lab', () => {
    const offending = listSources('bench').flatMap((file) =>
      readImports(file)
        .filter((spec) => path.normalize(path.join(path.dirname(file), spec)).startsWith(`test${path.sep}`))
        .map((spec) => `${file} imports ${spec}`),
    );
    expect(offending).toEqual([]);
  });

  it('test/support re-exports nothing: each module there holds test-only code of its own', () => {
    const shims = listSources('test/support').filter((file) =>
      /^export\s+(\*|\{[^}]*\})\s+from\b/m.test(fs.readFileSync(path.join(repo, file), 'utf8')),
    );
    expect(shims).toEqual([]);
  });
});
