import { startHook } from '../core/hook/start-hook.ts';

startHook('ValidateService', async () => (await import('../flows/validate.ts')).validateFlow);
