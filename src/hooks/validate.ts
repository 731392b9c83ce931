import { checkFlow } from '../flows/check.ts';
import { validateFlow } from '../flows/validate.ts';
import { runHook } from '../runner/run-hook.ts';

runHook('ValidateService', { run: validateFlow, check: checkFlow });
