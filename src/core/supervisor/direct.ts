import type { LoadedConfig } from '../config/load.ts';
import { resolvePort } from '../config/resolve-port.ts';
import { confirmRecordedProcess } from '../ownership/prove-owner.ts';
import { stopUnrecordedStart, waitForBind, type BoundApp } from '../process/bind.ts';
import { describeExit } from '../process/describe.ts';
import { launchApp, type LaunchedApp } from '../process/launch.ts';
import type { Progress } from '../progress.ts';
import { describeRun } from '../state/state.ts';
import { describeAutoFallback } from './choose.ts';
import type { PendingStart, Supervisor } from './supervisor.ts';

/**
 * `direct`: the app runs detached in a session of its own, output appended to its log; nothing restarts it after a
 * crash or a reboot, so there is no boot list and no unit to guard, stop or dismiss.
 */
export const DirectSupervisor: Supervisor = {
  name: 'direct',
  prepareStart: startDirectly,
  confirm: (record, port, config, when) => confirmRecordedProcess(record, port, config.app.user, when),
  adopt: () => null,
  dismiss: async () => '',
  guardPort: () => {},
  stopPort: async () => [],
  enableForBoot: () => ({ clause: '', changed: false }),
  undoEnable: () => '',
  disableOthers: () => '',
  findBootRivals: () => [],
  // Nothing restarts a direct run: there is no later run to describe.
  describeRestartSource: () => '',
  inspect: () => ({}),
};

function startDirectly(config: LoadedConfig, port: number, _appDir: string, out: Progress): PendingStart {
  let app: LaunchedApp | null = null;
  return {
    async launch() {
      out.begin(`Starting ${resolvePort(config, port).argv.join(' ')} (supervisor: direct)`, { port });
      app = await launchApp(config, port);
      const { info, user, logFile } = app;
      return {
        info,
        record: { ...describeRun(info), user, log: logFile },
        said: `Started PID ${info.pid} as ${user}; output goes to ${logFile}`,
      };
    },
    async waitForBind(untilMs) {
      const bound = await waitForBind(app!, port, untilMs, out);
      app!.detach();
      const fallback = describeAutoFallback(config);
      const clause = `${describeLauncher(bound)}; supervisor: direct${fallback ? `; ${fallback}` : ''}`;
      return { info: bound.info, bindMs: bound.bindMs, clause };
    },
    // Its session and the daemons proved its, identity re-read per signal: the launcher alone may have forked.
    abandon: async () => (app ? stopUnrecordedStart(app, out) : 'nothing had been started yet'),
  };
}

/** "; started by PID 4711 (sh), which exited with code 0": the start command, when it is not the process that bound. */
function describeLauncher(bound: BoundApp): string {
  if (bound.launcher === null) return '';
  const { info, exit } = bound.launcher;
  return `; started by PID ${info.pid} (${info.comm}), which ${exit ? describeExit(exit) : 'is still running'}`;
}
