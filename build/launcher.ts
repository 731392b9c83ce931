// The main script of each compiled hook: answers --version and --help from a few kilobytes, and only otherwise
// compiles the hook itself (its bundle, stored beside it in the executable as the asset "hook.cjs").
import path from 'node:path';
import { getAsset } from 'node:sea';
import vm from 'node:vm';
import type { LifecycleEvent } from '../src/core/hook/help.ts';
import { answerAtOnce } from '../src/core/hook/quick-answer.ts';

/** Set per executable by the build (esbuild define). */
declare const PORTPROOF_EVENT: LifecycleEvent;

if (!answerAtOnce(PORTPROOF_EVENT, process.argv.slice(2))) {
  // The bundle is CommonJS that needs only Node's built-in modules: the executable's own require serves them.
  const filename = path.join(path.dirname(process.execPath), `${path.basename(process.execPath)}.cjs`);
  const wrapper = vm.compileFunction(getAsset('hook.cjs', 'utf8'), ['exports', 'require', 'module', '__filename', '__dirname'], { filename });
  const module = { exports: {} };
  wrapper.call(module.exports, module.exports, require, module, filename, path.dirname(filename));
}
