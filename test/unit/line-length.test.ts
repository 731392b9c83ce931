import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// Biome formats code to 120 columns but leaves long strings and comments whole: this holds the shipped and
// measuring code (src, build, bench, bin) to 120 characters a line. Test titles are sentences and may run longer.

const repo = path.resolve(import.meta.dirname, '../..');
const MaxChars = 120;

function sourceFiles(dir: string): string[] {
  return fs
    .readdirSync(path.join(repo, dir), { recursive: true, encoding: 'utf8' })
    .filter((file) => /\.(ts|mjs|cjs|js)$/.test(file) && !file.includes('results') && !file.includes('node_modules'))
    .map((file) => path.join(dir, file));
}

describe('line length', () => {
  it(`no line over ${MaxChars} characters in src, build, bench and bin`, () => {
    const long: string[] = [];
    for (const file of ['src', 'build', 'bench', 'bin'].flatMap(sourceFiles)) {
      const lines = fs.readFileSync(path.join(repo, file), 'utf8').split('\n');
      lines.forEach((line, i) => {
        if ([...line].length > MaxChars) long.push(`${file}:${i + 1} (${[...line].length})`);
      });
    }
    expect(long).toEqual([]);
  });
});
