import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findFreePort } from '../../src/lab/ports.ts';
import { stopAll } from '../../src/lab/processes.ts';
import { renderServiceUrl, type TestNginx } from '../../src/lab/nginx.ts';
import {
  cleanUpHookTests,
  deployed,
  expectVerdict,
  isAlive,
  nginxSection,
  readState,
  remember,
  useBlueGreenBed,
} from '../support/hook-tests.ts';

// Releases portproof owns (issue 19): the app runs from a copy under the state directory, so the agent deleting its
// archive takes nothing from the live or the previous release. The compiled hooks, as the agent runs them.

afterAll(cleanUpHookTests);

function releasesOf(stateDir: string): string[] {
  const dir = path.join(stateDir, 'fixture', 'releases');
  return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
}

function recordedRelease(stateDir: string, port: number): string {
  return (readState(stateDir).processes[String(port)] as unknown as { release: string }).release;
}

describe('in place', () => {
  it('the app runs from its release; the revision deleted, it is still proved; old releases pruned', async () => {
    const port = await findFreePort();
    const one = await deployed({ ports: [port], app: { user: 'nobody' } });
    const { stateDir } = one;
    expectVerdict(await one.revision.run('start'), 'ApplicationStart', 'OK');
    const pid = remember(stateDir, port);
    const first = recordedRelease(stateDir, port);
    const releaseDir = path.join(stateDir, 'fixture', 'releases', first);
    expect(fs.readlinkSync(`/proc/${pid}/cwd`)).toBe(releaseDir);
    expect(fs.statSync(path.join(releaseDir, 'portproof.yml')).ino).toBe(fs.statSync(one.revision.configPath).ino);
    expectVerdict(await one.revision.run('validate'), 'ValidateService', 'OK', `releases kept: ${first}`);
    // Three more deployments: each stop, start and validate from its own revision, the agent's archive of the one
    // before deleted (hooks and all) as its cleanup does.
    let previous = one.revision;
    const names = [first];
    for (const tag of ['v2', 'v3', 'v4']) {
      const next = await deployed({ ports: [port], stateDir, versionTag: tag, app: { user: 'nobody' } });
      expectVerdict(await previous.run('stop'), 'ApplicationStop', 'OK');
      fs.rmSync(previous.dir, { recursive: true, force: true });
      expectVerdict(await next.revision.run('start'), 'ApplicationStart', 'OK');
      names.push(recordedRelease(stateDir, port));
      expectVerdict(await next.revision.run('validate'), 'ValidateService', 'OK');
      previous = next.revision;
    }
    // The live (v4) and the previous (v3) stay; v1 and v2 are gone.
    expect(releasesOf(stateDir)).toEqual([names[2]!, names[3]!].sort());
    const check = await previous.run('validate', { args: ['--check'] });
    expect(check.stdout).toContain(
      `releases kept in ${path.join(stateDir, 'fixture', 'releases')}: ${names[3]} (port ${port}), ${names[2]}`,
    );
    await stopAll();
  });
});

describe('blue/green', () => {
  let nginx: TestNginx;
  let blue: number;
  let green: number;
  let stateDir: string;
  useBlueGreenBed((bed) => {
    ({ nginx, blue, green, stateDir } = bed);
  });

  async function deploy(versionTag: string, previous?: Awaited<ReturnType<typeof deployed>>['revision']) {
    const { revision } = await deployed({ ports: [blue, green], versionTag, stateDir, nginx: nginxSection(nginx) });
    expectVerdict(await (previous ?? revision).run('stop'), 'ApplicationStop', 'OK');
    expectVerdict(await revision.run('start'), 'ApplicationStart', 'OK');
    return { revision, validate: await revision.run('validate') };
  }

  it('a rollback to a release whose files are gone is refused, naming it; nginx stays', async () => {
    const first = await deploy('v1');
    expectVerdict(first.validate, 'ValidateService', 'OK', `nginx now → ${blue}`);
    const second = await deploy('v2', first.revision);
    expectVerdict(second.validate, 'ValidateService', 'OK', `nginx now → ${green}`);
    const gone = recordedRelease(stateDir, blue);
    const blueRelease = path.join(stateDir, 'fixture', 'releases', gone);
    // Both releases kept: the live and the previous, each recorded.
    expect(releasesOf(stateDir)).toEqual([gone, recordedRelease(stateDir, green)].sort());
    fs.rmSync(blueRelease, { recursive: true });
    const include = fs.readFileSync(nginx.includePath, 'utf8');
    const rollback = await second.revision.run('validate', { args: ['--port', String(blue)] });
    expectVerdict(rollback, 'ValidateService', 'FAILED', `release ${gone} that port ${blue} runs from is gone`);
    expect(fs.readFileSync(nginx.includePath, 'utf8')).toBe(include);
    expect(include).toContain(renderServiceUrl(green));
    expect(isAlive(remember(stateDir, green))).toBe(true);
    const check = await second.revision.run('validate', { args: ['--check'] });
    expect(check.stdout).toContain(`WARNING: release ${gone} of port ${blue} is gone`);
  });
});
