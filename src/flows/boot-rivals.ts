import type { LoadedConfig } from '../core/config/load.ts';
import type { Progress } from '../core/progress.ts';
import { describeBootRival, hostSupervisor, type BootRival } from '../core/supervisor/index.ts';

// Socket units of the host's that hold a configured port now or take it at boot: every hook's verdict and --check name
// each, with the command that retires it, until it is gone.

/** "; WARNING: shop.socket (…) takes port 8082 at boot (…): run "systemctl disable --now shop.socket"", or ''. */
export function describeBootRivals(config: LoadedConfig, alreadySaid = ''): string {
  const rivals = hostSupervisor()
    .findBootRivals(config.ports)
    .filter((r) => !alreadySaid.includes(r.unit));
  return rivals.map((r) => `; WARNING: ${describeBootRival(r)}`).join('');
}

/** --check: each rival as a WARNING line (printed unless JSON), returned for the JSON report and the summary. */
export function reportBootRivals(config: LoadedConfig, out: Progress, print: boolean): BootRival[] {
  const rivals = hostSupervisor().findBootRivals(config.ports);
  if (print) for (const rival of rivals) out.say(`WARNING: ${describeBootRival(rival)}`);
  return rivals;
}
