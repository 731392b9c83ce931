import { describe, expect, it } from 'vitest';
import { parseUnitStatus } from '../../src/core/supervisor/systemctl.ts';
import { describeUnitExit } from '../../src/core/supervisor/unit-run.ts';

// Exit reasons of every step systemd reports, from `systemctl show` text as systemd 252 prints it.

const Base = [
  'LoadState=loaded',
  'ActiveState=activating',
  'SubState=auto-restart',
  'MainPID=0',
  'InvocationID=',
  'NRestarts=2',
  'ControlGroup=',
  'UnitFileState=enabled',
];

function status(lines: string[]) {
  return parseUnitStatus('shop.service', [...Base, ...lines].join('\n'));
}

const explain = (lines: string[]) => describeUnitExit({ unit: 'shop.service', invocationId: '' }, status(lines));

describe('why a unit did not run', () => {
  it('a missing User=: the main process never ran, said as systemd\u2019s step, not "exited with code 217"', () => {
    const said = explain(['ExecMainCode=1', 'ExecMainStatus=217', 'Result=exit-code', 'Type=simple']);
    expect(said).toBe('could not be started by systemd (step USER, exit code 217), and systemd restarted it 2 time(s)');
  });

  it('an ExecStartPre that failed is named with its command, not hidden behind result exit-code', () => {
    const said = explain([
      'Result=exit-code',
      'Type=simple',
      'ExecStartPre={ path=/usr/bin/check-db ; argv[]=/usr/bin/check-db ; ignore_errors=no ; start_time=[n/a] ; ' +
        'stop_time=[n/a] ; pid=41 ; code=exited ; status=3 }',
      'ExecStart={ path=/usr/bin/shopd ; argv[]=/usr/bin/shopd ; ignore_errors=no ; start_time=[n/a] ; ' +
        'stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }',
    ]);
    expect(said).toMatch(/^its ExecStartPre \/usr\/bin\/check-db exited with code 3/);
  });

  it("a forking unit's start command (a control process) failing at step USER", () => {
    const said = explain([
      'Result=exit-code',
      'Type=forking',
      'ExecStart={ path=/usr/sbin/shopd ; argv[]=/usr/sbin/shopd -d ; ignore_errors=no ; start_time=[n/a] ; ' +
        'stop_time=[n/a] ; pid=52 ; code=exited ; status=217/USER }',
    ]);
    expect(said).toMatch(
      /^its ExecStart \/usr\/sbin\/shopd \(Type=forking\) could not be started by systemd \(step USER, exit code 217\)/,
    );
  });

  it('the start limit: systemd gave up, and says after how many restarts', () => {
    const said = explain(['ExecMainCode=1', 'ExecMainStatus=1', 'Result=start-limit-hit', 'Type=simple']);
    expect(said).toBe(
      'exited with code 1, and systemd restarted it 2 time(s); systemd gave up after 2 restart(s): start-limit-hit',
    );
  });
});
