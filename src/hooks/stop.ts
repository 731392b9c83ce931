import { checkFlow } from '../flows/check.ts';
import { describeUnusableConfig, stopFlow } from '../flows/stop.ts';
import { runHook } from '../runner/run-hook.ts';

runHook('ApplicationStop', { run: stopFlow, check: checkFlow, unusableConfig: describeUnusableConfig });
