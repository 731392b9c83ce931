import { spawnSync } from 'node:child_process';
import { DefaultSystemctlBusRetries, DefaultSystemctlBusRetryPauseMs, DefaultSystemctlTimeoutMs } from '../defaults.ts';
import { HookError } from '../errors.ts';
import { cutLine } from '../text/clean-line.ts';
import { describeFailedStep, listControlSteps, parseExecSteps } from './unit-steps.ts';

/** What systemd says about a unit: the properties portproof reads to start, prove, stop and report it. */
export interface UnitStatus {
  unit: string;
  /** loaded, not-found, masked, bad-setting, … */
  loadState: string;
  /** active, activating, deactivating, inactive, failed */
  activeState: string;
  /** running, auto-restart, exited, dead, failed, … */
  subState: string;
  /** 0 when no main process runs. */
  mainPid: number;
  /** A new one per start of the unit: a restart changes it even when the PID is reused. */
  invocationId: string;
  /** How often systemd restarted it (Restart=) since it was last started by hand. */
  restarts: number;
  /** How the last main process ended: exited, killed or dumped, with its code or signal; null while none ended. */
  lastExit: { code: number | null; signal: string | null } | null;
  /** success, exit-code, signal, core-dump, timeout, start-limit-hit, … */
  result: string;
  /** The unit's cgroup path, as /proc/PID/cgroup names it; '' when it runs nothing. */
  controlGroup: string;
  /** enabled, disabled, static, … ('' when the unit has no file). */
  unitFileState: string;
  fragmentPath: string;
  /** Where it runs from ('' when the unit does not say). */
  workingDirectory: string;
  /** Restart=: no, on-failure, always, … ('' when systemd does not say). */
  restart: string;
  /** A step of the start that failed before or beside the main process (ExecStartPre, a forking ExecStart). */
  failedStep: string | null;
  /** The commands run as control processes ("ExecStartPre /usr/bin/check-db"): to name one the journal saw exit. */
  controlSteps: string[];
}

const Properties = [
  'LoadState',
  'ActiveState',
  'SubState',
  'MainPID',
  'InvocationID',
  'NRestarts',
  'ExecMainCode',
  'ExecMainStatus',
  'Result',
  'ControlGroup',
  'UnitFileState',
  'FragmentPath',
  'WorkingDirectory',
  'Restart',
  'Type',
  'ExecStartPre',
  'ExecStart',
  'ExecStartPost',
];

/**
 * What systemctl says when its call was lost to the bus going away under it (`systemctl daemon-reexec`, dbus
 * restarting): the call may be made again, as the next one would be.
 */
const BusLost = new RegExp(
  [
    'disconnected from message bus',
    'Connection reset by peer',
    'Transport endpoint is not connected',
    'Failed to connect to bus',
    'Remote peer disconnected',
    'Connection refused',
  ].join('|'),
  'i',
);

/**
 * Run systemctl with an argv; a failure is a SYSTEMD_FAILED HookError quoting systemctl's own first line. A call lost
 * to a bus reconnect is made again, a bounded number of times: every call portproof makes is safe to repeat (start
 * and stop merge with a queued job of their own kind; show, enable, disable, daemon-reload change nothing twice).
 */
export function runSystemctl(args: string[], timeoutMs = DefaultSystemctlTimeoutMs): string {
  for (let attempt = 1; ; attempt += 1) {
    const run = spawnSync('systemctl', args, {
      encoding: 'utf8',
      timeout: timeoutMs,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (run.status === 0) return run.stdout;
    const said = `${run.stderr ?? ''}\n${run.stdout ?? ''}`.split('\n').find((line) => line.trim() !== '');
    const lost = run.error === undefined && said !== undefined && BusLost.test(said);
    // The bus went away under this call (daemon-reexec): systemd is back within moments, and the call is repeatable.
    if (lost && attempt < DefaultSystemctlBusRetries) {
      pauseSync(DefaultSystemctlBusRetryPauseMs);
      continue;
    }
    const why = run.error
      ? (run.error as NodeJS.ErrnoException).code === 'ENOENT'
        ? 'systemctl not found'
        : run.error.message
      : `exit code ${run.status ?? run.signal}${said ? `: ${cutLine(said.trim(), 200)}` : ''}`;
    const tries = lost ? `; tried ${attempt} times, the bus kept going away` : '';
    throw new HookError('SYSTEMD_FAILED', `systemctl ${args.join(' ')} failed (${why}${tries})`);
  }
}

/** Block this thread for `ms`: systemctl calls are synchronous, and so is the pause between two of them. */
function pauseSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Read a unit's status from systemd. */
export function showUnit(unit: string): UnitStatus {
  const text = runSystemctl(['show', ...Properties.map((p) => `--property=${p}`), '--', unit]);
  return parseUnitStatus(unit, text);
}

/** The KEY=VALUE lines `systemctl show` prints, as a UnitStatus. */
export function parseUnitStatus(unit: string, text: string): UnitStatus {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) values.set(line.slice(0, eq), line.slice(eq + 1));
  }
  const get = (key: string) => values.get(key) ?? '';
  const number = (key: string) => Number.parseInt(get(key), 10) || 0;
  return {
    unit,
    loadState: get('LoadState'),
    activeState: get('ActiveState'),
    subState: get('SubState'),
    mainPid: number('MainPID'),
    invocationId: get('InvocationID'),
    restarts: number('NRestarts'),
    lastExit: parseMainExit(number('ExecMainCode'), number('ExecMainStatus')),
    result: get('Result'),
    controlGroup: get('ControlGroup'),
    unitFileState: get('UnitFileState'),
    fragmentPath: get('FragmentPath'),
    workingDirectory: get('WorkingDirectory').replace(/^[-!]/, ''),
    restart: get('Restart'),
    failedStep: describeFailedStep(parseExecSteps(text), get('Type')),
    controlSteps: listControlSteps(parseExecSteps(text), get('Type')),
  };
}

/** ExecMainCode is a CLD_* code (1 exited, 2 killed, 3 dumped); ExecMainStatus the exit code or signal number. */
function parseMainExit(code: number, status: number): UnitStatus['lastExit'] {
  if (code === 1) return { code: status, signal: null };
  if (code === 2 || code === 3) return { code: null, signal: signalName(status) };
  return null;
}

const SignalNames: Record<number, string> = {
  1: 'SIGHUP',
  2: 'SIGINT',
  3: 'SIGQUIT',
  4: 'SIGILL',
  6: 'SIGABRT',
  7: 'SIGBUS',
  8: 'SIGFPE',
  9: 'SIGKILL',
  10: 'SIGUSR1',
  11: 'SIGSEGV',
  12: 'SIGUSR2',
  13: 'SIGPIPE',
  14: 'SIGALRM',
  15: 'SIGTERM',
};

function signalName(number: number): string {
  return SignalNames[number] ?? `signal ${number}`;
}
