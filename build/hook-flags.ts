/**
 * The Node flags every hook executable starts with (SEA's `execArgv`; the warm-up run of build/code-cache.ts uses
 * them too). A young generation of 8 MiB from the start: a hook allocates ~6 MiB before its first wait, which the
 * default 1 MiB semi-space answered with two scavenges (~5 ms of a no-op stop). V8 takes the code cache with it.
 * No background tasks (--single-threaded): at process.exit Node joins V8's worker threads, and a concurrent compile
 * job waiting there for a garbage collection only the main thread can run never ends (nodejs/node#64560). A hook
 * that had printed its verdict then hung until the agent's timeout: seen twice in bench:proof, under load, after
 * the hook had read tens of thousands of /proc/net/tcp rows.
 */
export const HookExecArgv: readonly string[] = ['--min-semi-space-size=8', '--single-threaded'];
