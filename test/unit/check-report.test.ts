import { describe, expect, it } from 'vitest';
import { summarizePort, type PortReport } from '../../src/flows/check.ts';

function report(fields: Partial<PortReport>): PortReport {
  const health = { ok: false, status: null, detail: 'connection refused' };
  const base = { port: 8081, role: 'target' as const, recorded: null, owners: [], unknownOwners: 0, health };
  return { ...base, supervisor: 'direct', ...fields };
}

const owner = {
  pid: 42,
  user: 'app',
  startedAt: '2026-01-01T00:00:00.000Z',
  command: 'java -jar app.jar',
  address: '0.0.0.0:8081',
};

describe('--check verdict per port', () => {
  it('counts listeners whose owner cannot be read (not "nothing listening")', () => {
    expect(summarizePort(report({ unknownOwners: 1 }))).toBe(
      '8081 target (1 listener(s) with an unreadable owner, unhealthy)',
    );
    const both = report({ owners: [owner], unknownOwners: 2, health: { ok: true, status: 200, detail: 'HTTP 200' } });
    expect(summarizePort(both)).toBe('8081 target (PID 42 + 2 listener(s) with an unreadable owner, healthy)');
  });

  it('says nothing listens only when nothing does, and names the PIDs otherwise', () => {
    expect(summarizePort(report({}))).toBe('8081 target (nothing listening)');
    expect(summarizePort(report({ owners: [owner, { ...owner, address: '[::]:8081' }] }))).toBe(
      '8081 target (PID 42, unhealthy)',
    );
  });
});
