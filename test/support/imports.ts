import fs from 'node:fs';
import path from 'node:path';

// Reading the repository's own import graph as text: the layout tests use it to hold the layers apart.

/** The repository root. */
export const RepoRoot = path.resolve(import.meta.dirname, '../..');

/** Every .ts/.mjs file below a folder of the repository, relative to the repository. */
export function listSources(folder: string): string[] {
  return fs
    .readdirSync(path.join(RepoRoot, folder), { recursive: true, encoding: 'utf8' })
    .filter((file) => /\.(ts|mjs)$/.test(file))
    .map((file) => path.join(folder, file));
}

// Static imports and re-exports (`import type` too, over several lines), bare `import 'x'`, `import('x')` and
// `require('x')`. A specifier never holds a quote; the part before `from` never crosses a string or a `;`.
const ImportPatterns = [
  /^\s*(?:import|export)\s[^;'"`]*?\bfrom\s*['"]([^'"]+)['"]/gm,
  /^\s*import\s*['"]([^'"]+)['"]/gm,
  /\b(?:import|require)\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
];

/** The module specifiers a file imports, re-exports, loads or requires. */
export function readImports(file: string): string[] {
  const text = fs.readFileSync(path.join(RepoRoot, file), 'utf8');
  return ImportPatterns.flatMap((pattern) => [...text.matchAll(pattern)].map((m) => m[1]!));
}

/** Where a relative specifier points, relative to the repository; null for a package or `node:` module. */
export function resolveImport(file: string, spec: string): string | null {
  return spec.startsWith('.') ? path.normalize(path.join(path.dirname(file), spec)) : null;
}

/** Dynamic imports whose specifier is not a plain string: a layout test cannot tell where they lead. */
export function readComputedImports(file: string): string[] {
  const text = fs.readFileSync(path.join(RepoRoot, file), 'utf8');
  return [...text.matchAll(/\b(?:import|require)\s*\(\s*(?!['"][^'"]*['"]\s*\))([^)]*)\)/g)].map((m) => m[1]!.trim());
}
