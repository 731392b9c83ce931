// Run by the pinned Node 24 runtime (pkg's SEA mode needs Node >= 22), with HOME set to the seeded pkg cache:
// turns one CommonJS script into single executables through @yao-pkg/pkg's simple SEA pipeline — the function
// `pkg --sea` calls. Called directly because pkg 6.23's command line drops `seaConfig` before it reaches this
// function, and the host-arch build wants `useCodeCache`. argv[2]: JSON { entry, nodeRange, targets, useCodeCache,
// assets, execArgv }.
'use strict';
const childProcess = require('node:child_process');
const util = require('node:util');

// pkg makes the blob with `node --experimental-sea-config`. V8 seeds its string hashes at random in each process
// and a code cache records them, so two builds of the same inputs would differ; a fixed seed for that one command
// makes the cache byte-for-byte reproducible, and V8 still accepts it at run time (it checks flags that change
// code, not the seed). Installed before pkg's module loads, as it promisifies execFile once at load time. The blob's
// code cache is made with the hooks' own flags too: one that changes code (--single-threaded) would otherwise make
// V8 reject it at every start ("Code cache data rejected").
const execFile = childProcess.execFile;
const seeded = (args) =>
  args[0] === '--experimental-sea-config' ? ['--random-seed=1', ...(request.execArgv ?? []), ...args] : args;
childProcess.execFile = Object.assign((file, args, ...rest) => execFile(file, seeded(args), ...rest), {
  [util.promisify.custom]: (file, args, options) => util.promisify(execFile)(file, seeded(args), options),
});

const { default: sea } = require('@yao-pkg/pkg/lib-es5/sea');

const request = JSON.parse(process.argv[2]);
const targets = request.targets.map((t) => ({
  nodeRange: request.nodeRange,
  platform: 'linux',
  arch: t.arch,
  output: t.output,
}));
const seaConfig = { useCodeCache: request.useCodeCache, assets: request.assets, execArgv: request.execArgv };
sea(request.entry, { targets, signature: false, seaConfig }).catch((error) => {
  console.error(`pkg --sea failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
