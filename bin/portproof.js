#!/usr/bin/env node
// The workstation CLI, compiled ahead of use by `npm run build:cli` (npm ci runs it as `prepare`) into dist/cli.
// PORTPROOF_CLI_FROM_SOURCE=1 runs src/ through tsx (a devDependency) instead. The hooks on a host are the binaries.
import fs from 'node:fs';

const compiled = new URL('../dist/cli/portproof.js', import.meta.url);
const fromSource = process.env.PORTPROOF_CLI_FROM_SOURCE === '1';

if (!fromSource && fs.existsSync(compiled)) {
  await import(compiled.href);
} else {
  if (!fromSource) {
    process.stderr.write(
      'portproof: dist/cli/portproof.js is missing (run `npm run build:cli`); running src/ through tsx\n',
    );
  }
  let tsx;
  try {
    tsx = await import('tsx/esm/api');
  } catch {
    process.stderr.write('portproof: tsx is not installed either: run `npm ci` in the checkout\n');
    process.exit(2);
  }
  // What the build's define puts into src/core/version.ts.
  const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  globalThis.__PORTPROOF_VERSION__ = pkg.version;
  tsx.register();
  await import('../src/cli/main.ts');
}
