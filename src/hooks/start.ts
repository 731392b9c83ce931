import { startHook } from '../core/hook/start-hook.ts';

startHook('ApplicationStart', async () => (await import('../flows/start.ts')).startFlow);
