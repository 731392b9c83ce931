import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { checkPortableConfig } from '../../src/core/config/load.ts';
import { waitForPort } from '../../src/lab/net.ts';
import type { TestNginx } from '../../src/lab/nginx.ts';
import { httpGet, startApp } from '../support/app.ts';
import {
  cleanUpHookTests,
  deployed,
  expectVerdict,
  isAlive,
  nginxSection,
  useBlueGreenBed,
  switchedTo,
} from '../support/hook-tests.ts';

// The README's "Moving from the shell recipe", run: the recipe's nohup'd apps on both ports, nginx's include naming
// one, then two deployments through the compiled hooks with the README's config (on free ports, a private nginx).

const readme = fs.readFileSync(path.resolve(import.meta.dirname, '../../README.md'), 'utf8');
const section = readme.slice(readme.indexOf('## Moving from the shell recipe'), readme.indexOf('\n## Rollback'));
const readmeConfig = /```yaml\n([\s\S]*?)```/.exec(section)![1]!.replace(/^ {3}/gm, '');

let nginx: TestNginx;
let blue: number;
let green: number;
let stateDir: string;
useBlueGreenBed((bed) => {
  ({ nginx, blue, green, stateDir } = bed);
});
afterAll(cleanUpHookTests);

const served = async () => (await httpGet(`${nginx.url}/`)).body;

describe("the README's move from the shell recipe", () => {
  it('its config passes every rule bundle applies, and names the include the recipe had', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-migration-')), 'portproof.yml');
    fs.writeFileSync(file, readmeConfig);
    expect(checkPortableConfig(file)).toEqual([]);
    expect(section).toContain('holds `set $service_url http://127.0.0.1:8081;`');
    fs.rmSync(path.dirname(file), { recursive: true });
  });

  it('two deployments take over from two nohup-started apps; nginx serves throughout', async () => {
    const config = parse(readmeConfig) as { app: { name: string }; health: { url: string } };
    // The recipe's apps: the live one on the port the include names (green), the previous one idling on blue.
    const live = startApp([`--port=${green}`, '--version-tag=recipe-live']);
    const idle = startApp([`--port=${blue}`, '--version-tag=recipe-idle']);
    await Promise.all([waitForPort(green, 5000), waitForPort(blue, 5000)]);
    expect(await served()).toContain('version=recipe-live');

    const revision = async (versionTag: string) =>
      (
        await deployed({
          ports: [blue, green],
          versionTag,
          stateDir,
          app: { name: config.app.name },
          health: { url: config.health.url },
          nginx: nginxSection(nginx),
        })
      ).revision;

    // First deployment: ApplicationStop is still the recipe's stop.sh; suppose it left the idle app running.
    const v1 = await revision('v1');
    const start1 = await v1.run('start');
    const stranger = new RegExp(`; stopped PID ${idle.pid} \\(.*\\) on port ${blue}, which portproof had not started$`);
    expectVerdict(start1, 'ApplicationStart', 'OK', stranger);
    expect(await served()).toContain('version=recipe-live');
    expectVerdict(await v1.run('validate'), 'ValidateService', 'OK', `nginx now → ${blue}`);
    expect(await served()).toContain('version=v1');
    expect(isAlive(live.pid)).toBe(true);

    // Second deployment: portproof's own stop frees the recipe's last app; from here on, every process is its own.
    const v2 = await revision('v2');
    expectVerdict(await v1.run('stop'), 'ApplicationStop', 'OK', `stopped PID ${live.pid}`);
    expect(await served()).toContain('version=v1');
    const start2 = await v2.run('start');
    expectVerdict(start2, 'ApplicationStart', 'OK');
    expect(start2.verdict).not.toContain('had not started');
    const proved = switchedTo(green);
    expectVerdict(await v2.run('validate'), 'ValidateService', 'OK', proved, `(previous ${blue} kept for rollback)`);
    expect(await served()).toContain('version=v2');
  });
});
