// The main script of the build machine's arch's hook executables. The hook's bundle and V8's code cache for it are
// SEA assets: the cache was made after a warm-up run of the hook at build time (build/code-cache.ts), so it holds
// the functions a run compiles lazily (yaml, zod, pino, the flow), which SEA's own code cache, made before the
// script runs, does not. `hook.cjs` is the bundle wrapped as a CommonJS function; it gets this script's module
// variables, as it would as the SEA's main script.
'use strict';
const { getRawAsset } = require('node:sea');
const { Script } = require('node:vm');

// The raw assets are views of the executable's own memory: read in place, not copied (the bundle is ASCII).
const script = new Script(Buffer.from(getRawAsset('hook.cjs')).toString('latin1'), {
  filename: 'hook.cjs',
  cachedData: new Uint8Array(getRawAsset('hook.cache')),
});
// As node does for SEA's own code cache: a rejected cache still runs the hook (compiled now), and says so once.
if (script.cachedDataRejected) process.stderr.write('portproof: code cache data rejected (the hook starts slower)\n');
script.runInThisContext()(exports, require, module, __filename, __dirname);
