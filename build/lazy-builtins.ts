// esbuild turns each `import fs from 'node:fs'` of an ES module into a top-level
// `var import_node_fs = __toESM(require("node:fs"), 1)`: the builtin is loaded when the bundle starts, and __toESM
// copies every property of it into a new namespace object, once per importing file (~25 copies of node:fs). A hook
// run pays for both even for builtins it never reaches (node:net, node:child_process on a no-op stop).

/** The helper the rewritten imports call: a namespace that loads its builtin on first use, then reads through. */
const LazyBuiltinHelper = `var __lazyBuiltin = (id, nodeMode) => {
  let mod;
  const load = () => mod ??= require(id);
  return new Proxy(/* @__PURE__ */ Object.create(null), {
    get: (_, key) => nodeMode && key === "default" ? load() : load()[key],
    has: (_, key) => nodeMode && key === "default" || key in load()
  });
};
`;

// Only esbuild's own import bindings: top-level (unindented) `var` lines. A CommonJS package's require calls are
// indented inside its __commonJS wrapper and may use the module itself as a function: they are left alone.
const EsmImport = /^var ([\w$]+) = __toESM\(require\("(node:[\w/]+)"\), 1\);$/gm;
const NamedImport = /^var (import_[\w$]+) = require\("(node:[\w/]+)"\);$/gm;
// One package require is rewritten too: pino's sonic-boom and thread-stream (neither used by the hooks, which write
// their log through their own destination) load node:assert when pino loads (~3 ms) only to call it, later.
const PackageAssert = /^(\s+)var assert = require\("assert"\);$/gm;
// Any use of `assert` but a call (assert.equal, passing it on) would need the module itself: a build error then.
const AssertNotCalled = /(?<![\w$.])assert(?![\w$(])/g;

/**
 * Rewrite a CommonJS bundle's imports of node builtins (and the packages' `assert`) to load each on first use. The
 * namespace answers as __toESM's did: `default` is the module itself (esbuild's node mode), any other key reads the
 * module's property at that moment. esbuild reaches an import binding only through property reads
 * (`import_node_fs.default.x`, `(0, import_node_fs.x)(...)`), never as a value of its own.
 */
export function loadBuiltinsLazily(bundle: string): string {
  const rewritten = bundle
    .replace(EsmImport, 'var $1 = __lazyBuiltin("$2", 1);')
    .replace(NamedImport, 'var $1 = __lazyBuiltin("$2", 0);')
    .replace(PackageAssert, '$1var assert = (...args) => require("assert")(...args);');
  const uncalled = bundle.replace(PackageAssert, '').match(AssertNotCalled);
  if (uncalled) throw new Error(`esbuild bundle: \`assert\` used other than as a call (${uncalled.length} times)`);
  if (!rewritten.startsWith('"use strict";\n')) throw new Error('esbuild bundle: no "use strict" line to follow');
  // esbuild writes the same helpers and import lines for the same inputs: a change of its output is a build error.
  if (rewritten === bundle) throw new Error('esbuild bundle: no import of a node builtin to rewrite');
  return rewritten.replace('"use strict";\n', `"use strict";\n${LazyBuiltinHelper}`);
}
