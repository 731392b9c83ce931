// Put in by the build (esbuild's define, vitest's define) or by bin/portproof.js for a run from source through tsx:
// package.json stays out of the core, and so out of every hook.
declare const __PORTPROOF_VERSION__: string | undefined;

/** portproof's own version, from package.json at build time. */
export const VERSION: string = typeof __PORTPROOF_VERSION__ === 'string' ? __PORTPROOF_VERSION__ : 'unknown';
