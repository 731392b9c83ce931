import { describe, expect, it } from 'vitest';
import { describeDirectRoutes } from '../../src/core/nginx/direct-routes.ts';
import { dumpCommand, globToRegExp, parseNginxDump } from '../../src/core/nginx/loaded-files.ts';
import { CheckExit, judgeCheck } from '../../src/flows/check-status.ts';
import type { PortReport } from '../../src/flows/check.ts';

const dump = `# configuration file /etc/nginx/nginx.conf:
http {
  include /etc/nginx/conf.d/*.conf;
}

# configuration file /etc/nginx/conf.d/app.conf:
upstream legacy { server 127.0.0.1:8081; }
server {
  listen 80;
  location / {
    set $secret "s3cr3t";
    proxy_pass http://127.0.0.1:8081;
  }
  location /api { proxy_pass http://127.0.0.1:80812; }
}
`;

describe('nginx -T', () => {
  it('splits into files at each "# configuration file PATH:" line, in order', () => {
    const files = parseNginxDump(dump);
    expect([...files.keys()]).toEqual(['/etc/nginx/nginx.conf', '/etc/nginx/conf.d/app.conf']);
    expect(files.get('/etc/nginx/conf.d/app.conf')).toContain('proxy_pass http://127.0.0.1:8081;');
  });

  it('is nginx.dump, or nginx.test with its -t made -T', () => {
    expect(dumpCommand({ test: ['/usr/sbin/nginx', '-p', '/x', '-t'] })).toEqual(['/usr/sbin/nginx', '-p', '/x', '-T']);
    expect(dumpCommand({ test: ['true'], dump: ['cat', '/d'] })).toEqual(['cat', '/d']);
  });

  it('reads include globs as glob(3) does: * and ? within one segment, [...] a class', () => {
    expect(globToRegExp('/etc/nginx/conf.d/*.inc').test('/etc/nginx/conf.d/service-url.inc')).toBe(true);
    expect(globToRegExp('/etc/nginx/conf.d/*.inc').test('/etc/nginx/conf.d/sub/x.inc')).toBe(false);
    expect(globToRegExp('/etc/nginx/site?-[ab].conf').test('/etc/nginx/sites-a.conf')).toBe(true);
    expect(globToRegExp('/etc/nginx/site?-[!ab].conf').test('/etc/nginx/sites-a.conf')).toBe(false);
  });

  it('names the locations and upstreams that send requests to a port by number, and no other port', () => {
    const routes = describeDirectRoutes(parseNginxDump(dump), 8081);
    expect(routes).toEqual([
      'its upstream legacy (/etc/nginx/conf.d/app.conf line 1) sends requests there: "server 127.0.0.1:8081;"',
      'its location / (/etc/nginx/conf.d/app.conf line 6) proxies there directly: "proxy_pass http://127.0.0.1:8081;"',
    ]);
    expect(routes.join(' ')).not.toContain('s3cr3t');
  });
});

describe('--check exit codes', () => {
  const live = (fields: Partial<PortReport>): PortReport => ({
    port: 8082,
    role: 'live',
    recorded: null,
    owners: [{ pid: 7, user: 'app', startedAt: '', command: 'java', address: '0.0.0.0:8082' }],
    unknownOwners: 0,
    health: { ok: true, status: 200, detail: 'HTTP 200' },
    supervisor: 'direct',
    ...fields,
  });
  const judge = (facts: Partial<Parameters<typeof judgeCheck>[0]>) =>
    judgeCheck({ preflight: [], nginxProblem: null, live: live({}), liveOwnedByRecord: true, ...facts });

  it('0 only when the recorded owner is healthy and nginx agrees; otherwise the first problem by importance', () => {
    expect(judge({})).toEqual({ exitCode: CheckExit.Healthy, healthy: true, reasons: [] });
    expect(judge({ live: null }).exitCode).toBe(CheckExit.NotListening);
    expect(judge({ live: live({ owners: [] }) }).exitCode).toBe(CheckExit.NotListening);
    expect(judge({ liveOwnedByRecord: false }).exitCode).toBe(CheckExit.NotRecorded);
    const sick = live({ health: { ok: false, status: 503, detail: 'HTTP 503' } });
    expect(judge({ live: sick })).toMatchObject({
      exitCode: CheckExit.Unhealthy,
      reasons: ['live port 8082: health HTTP 503'],
    });
    const all = judge({ preflight: ['app.user: no user "x"'], nginxProblem: 'nginx disagrees', live: sick });
    expect(all.exitCode).toBe(CheckExit.ConfigInvalid);
    expect(all.reasons).toEqual([
      'preflight: app.user: no user "x"',
      'nginx disagrees',
      'live port 8082: health HTTP 503',
    ]);
  });

  it('nginx down (7) and an interrupted switch (8) have codes of their own, before the include and the port', () => {
    expect(judge({ nginxDown: 'nginx is not running (no pid file /run/nginx.pid)' }).exitCode).toBe(
      CheckExit.NginxDown,
    );
    const split = judge({ switchInterrupted: 'a switch 8081 → 8082 was interrupted', nginxDown: 'down', live: null });
    expect(split.exitCode).toBe(CheckExit.SwitchInterrupted);
    expect(split.reasons.slice(0, 2)).toEqual(['a switch 8081 → 8082 was interrupted', 'down']);
    // The existing codes keep their numbers: monitors already branch on them.
    expect(CheckExit).toMatchObject({
      ConfigInvalid: 2,
      NotListening: 3,
      NotRecorded: 4,
      Unhealthy: 5,
      NginxDisagrees: 6,
    });
    expect([CheckExit.NginxDown, CheckExit.SwitchInterrupted]).toEqual([7, 8]);
  });
});
