// Run by the pinned runtime of the build machine's arch, with the hooks' flags (and build/code-cache.ts's own):
// compiles a wrapped hook bundle exactly as build/sea-main.cjs does, then either
//   record <wrapped> <cache> <hook args...>: runs the hook (its warm-up run) and writes V8's code cache of the
//     script when the process exits, so it holds every function the run compiled;
//   verify <wrapped> <cache>: compiles with that cache and fails unless V8 accepted it.
'use strict';
const fs = require('node:fs');
const { Script } = require('node:vm');

const [, , mode, wrapped, cacheFile, ...hookArgs] = process.argv;
const source = fs.readFileSync(wrapped, 'latin1');
if (mode === 'verify') {
  const script = new Script(source, { filename: 'hook.cjs', cachedData: fs.readFileSync(cacheFile) });
  if (script.cachedDataRejected) {
    console.error(`V8 rejected the code cache ${cacheFile}`);
    process.exit(1);
  }
} else {
  const script = new Script(source, { filename: 'hook.cjs' });
  // The hook ends with process.exit: 'exit' is the last moment everything it ran is compiled.
  process.on('exit', () => fs.writeFileSync(cacheFile, script.createCachedData()));
  process.argv = [process.argv[0], wrapped, ...hookArgs];
  script.runInThisContext()(exports, require, module, __filename, __dirname);
}
