/**
 * The Node flags every hook executable starts with (SEA's `execArgv`; the warm-up run of build/code-cache.ts uses
 * them too). A young generation of 8 MiB from the start: a hook allocates ~6 MiB before its first wait, which the
 * default 1 MiB semi-space answered with two scavenges (~5 ms of a no-op stop). V8 takes the code cache with it.
 */
export const HookExecArgv: readonly string[] = ['--min-semi-space-size=8'];
