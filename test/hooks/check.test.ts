import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanUpHookTests, deployed } from '../support/hook-tests.ts';
import { findFreePorts } from '../../src/lab/ports.ts';

// --check is what an operator runs after a refusal: it must report an include it cannot read, not refuse with it.

afterAll(cleanUpHookTests);

describe('--check with an include whose live port cannot be told, with the compiled hooks', () => {
  it('reports both ports with the role unknown and the reason, and exits 7 (nginx down, checked first); stop refuses', async () => {
    const [a, b] = await findFreePorts(2);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-check-'));
    const include = path.join(dir, 'service-url.inc');
    // A port that is not one of the configured two: which app nginx serves cannot be told.
    fs.writeFileSync(include, 'set $service_url http://127.0.0.1:9;\n');
    // nginx itself is not needed to read the include: a dump that lists it stands in for nginx -T.
    const dump = path.join(dir, 'dump.txt');
    fs.writeFileSync(dump, `# configuration file ${include}:\n${fs.readFileSync(include, 'utf8')}\n`);
    const pidFile = path.join(dir, 'nginx.pid');
    const nginx = { include, test: ['true'], dump: ['cat', dump], reload: ['true'], pidFile };
    const { revision } = await deployed({ ports: [a!, b!], nginx });
    const text = await revision.run('validate', { args: ['--check'] });
    // nginx is not running here either: that is checked first (7), and the include's problem is still a reason.
    expect(text.code, text.stdout).toBe(7);
    expect(text.verdict).toMatch(/UNHEALTHY: nginx is not running .*cannot tell which port nginx serves/);
    expect(text.stdout).toMatch(/^nginx include: .*service-url\.inc/m);
    expect(text.stdout).toContain(`port ${a} (unknown):`);
    const json = await revision.run('validate', { args: ['--check', '--json'] });
    const report = JSON.parse(json.stdout);
    expect(report.includeProblem).toContain(include);
    expect(report.ports.map((p: { role: string }) => p.role)).toEqual(['unknown', 'unknown']);
    const stop = await revision.run('stop');
    expect(stop.code).toBe(1);
    expect(stop.verdict).toContain('ApplicationStop FAILED');
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
