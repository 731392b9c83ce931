import { startHook } from '../core/hook/start-hook.ts';

startHook('ApplicationStop', async () => (await import('../flows/stop.ts')).stopFlow);
