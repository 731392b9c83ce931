import { checkFlow } from '../flows/check.ts';
import { startFlow } from '../flows/start.ts';
import { runHook } from '../runner/run-hook.ts';

runHook('ApplicationStart', { run: startFlow, check: checkFlow });
