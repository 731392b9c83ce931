import { createRequire } from 'node:module';

/**
 * A Node built-in loaded when first needed, not when the hook starts: `node:http` and `node:tls` cost a hook that
 * never probes (ApplicationStop, ApplicationStart) ~8 ms. No dynamic import: a single-executable bundle cannot run
 * one. getBuiltinModule is Node >= 20.16; older Node 20 takes a plain require of the built-in.
 */
export function loadBuiltin<T>(id: 'node:http' | 'node:tls'): T {
  const viaProcess = (process as { getBuiltinModule?: (name: string) => unknown }).getBuiltinModule?.(id);
  return (viaProcess ?? createRequire(process.execPath)(id)) as T;
}
