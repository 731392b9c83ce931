import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listSources, readComputedImports, readImports, RepoRoot, resolveImport } from '../support/imports.ts';

/** The layers above the core: none of them may be imported by it. */
const AboveCore = ['src/runner', 'src/flows', 'src/hooks', 'src/cli', 'src/why', 'src/lab', 'src/rehearsal'];

/** Each "<file> imports <spec>" in `folder` whose import leads into one of `forbidden` (folders of the repository). */
function findImportsInto(folder: string, forbidden: string[]): string[] {
  return listSources(folder).flatMap((file) =>
    readImports(file)
      .filter((spec) => {
        const target = resolveImport(file, spec);
        return target !== null && forbidden.some((f) => target === f || target.startsWith(`${f}${path.sep}`));
      })
      .map((spec) => `${file} imports ${spec}`),
  );
}

/** Each "<file> imports <spec>" in `folder` whose relative import leaves every folder of `allowed`. */
function findImportsOutside(folder: string, allowed: string[]): string[] {
  return listSources(folder).flatMap((file) =>
    readImports(file)
      .filter((spec) => {
        const target = resolveImport(file, spec);
        return target !== null && !allowed.some((a) => target.startsWith(`${a}${path.sep}`));
      })
      .map((spec) => `${file} imports ${spec}`),
  );
}

describe('the layers', () => {
  it('the core imports no runner, flow, entry, CLI, why, lab or rehearsal', () => {
    expect(findImportsInto('src/core', AboveCore)).toEqual([]);
  });

  it('the core imports nothing outside itself but packages and node: modules', () => {
    expect(findImportsOutside('src/core', ['src/core'])).toEqual([]);
  });

  it('the runner imports only the core: the flows reach it through the entries', () => {
    expect(findImportsOutside('src/runner', ['src/core', 'src/runner'])).toEqual([]);
  });

  it('every import in the core and the runner names its module plainly, so these tests can follow it', () => {
    const computed = [...listSources('src/core'), ...listSources('src/runner')].flatMap((file) =>
      readComputedImports(file).map((spec) => `${file} imports ${spec}`),
    );
    expect(computed).toEqual([]);
  });

  it("each hook entry is one runHook call handed the event's flow and the check flow", () => {
    for (const file of listSources('src/hooks')) {
      const code = fs
        .readFileSync(path.join(RepoRoot, file), 'utf8')
        .split('\n')
        .filter((line) => line.trim() !== '' && !line.startsWith('import '));
      expect({ file, code }).toEqual({
        file,
        // ApplicationStop also names what it says for a config it cannot use (issue 19).
        code: [
          expect.stringMatching(
            /^runHook\('\w+', \{ run: \w+Flow, check: checkFlow(, unusableConfig: describeUnusableConfig)? \}\);$/,
          ),
        ],
      });
      expect(
        readImports(file).filter((spec) => spec.includes('runner/')),
        file,
      ).toEqual(['../runner/run-hook.ts']);
    }
  });
});

describe('supervision', () => {
  it('the flows reach a supervisor only through supervisor/index.ts, never its parts or the launch of a process', () => {
    const parts = [
      'src/core/process/launch.ts',
      'src/core/process/bind.ts',
      'src/core/process/session.ts',
      ...listSources('src/core/supervisor').filter((f) => f !== 'src/core/supervisor/index.ts'),
    ];
    expect(parts).toContain('src/core/supervisor/systemd.ts');
    expect(findImportsInto('src/flows', parts)).toEqual([]);
  });

  it('direct and systemd implement one Supervisor, and only index.ts picks between them', () => {
    const picking = listSources('src')
      .filter((file) => readImports(file).some((spec) => /\/(direct|systemd)\.ts$/.test(spec)))
      .sort();
    expect(picking).toEqual(['src/core/supervisor/index.ts']);
  });
});

describe('the import reader', () => {
  it('finds static, type-only, multi-line, re-exported, bare and dynamic imports', () => {
    const dir = fs.mkdtempSync(path.join(RepoRoot, '.cache', 'imports-'));
    try {
      const file = path.join(dir, 'sample.ts');
      fs.writeFileSync(
        file,
        [
          "import a from './a.ts';",
          "import type { B } from '../b.ts';",
          'import {\n  c,\n  d,\n} from "./c.ts";',
          "export { e } from './e.ts';",
          "import './side-effect.ts';",
          "const f = await import('./f.ts');",
          "const g = require('./g.cjs');",
          "const text = 'not from \\'./h.ts\\'';",
          'const i = await import(`./${name}.ts`);',
        ].join('\n'),
      );
      const relative = path.relative(RepoRoot, file);
      expect(readImports(relative).sort()).toEqual(
        ['./a.ts', '../b.ts', './c.ts', './e.ts', './side-effect.ts', './f.ts', './g.cjs'].sort(),
      );
      expect(readComputedImports(relative)).toEqual(['`./${name}.ts`']);
      expect(resolveImport('src/core/health/check.ts', '../../runner/output.ts')).toBe('src/runner/output.ts');
      expect(resolveImport('src/core/health/check.ts', 'node:fs')).toBeNull();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
