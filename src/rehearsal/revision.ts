import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';

/** The hook executables in a revision, by lifecycle event, as appspec.yml lists them. */
export const RevisionHooks = { ApplicationStop: 'stop', ApplicationStart: 'start', ValidateService: 'validate' } as const;

/**
 * Lay out a revision directory as CodeDeploy unpacks one: appspec.yml, portproof.yml and hooks/ holding the compiled
 * binaries (hard links when on the same filesystem, copies otherwise), so each hook finds its bundle from its own path.
 */
export function writeRevision(dir: string, hooksDir: string, config: Record<string, unknown>): void {
  fs.mkdirSync(path.join(dir, 'hooks'), { recursive: true });
  for (const name of Object.values(RevisionHooks)) {
    const target = path.join(dir, 'hooks', name);
    try {
      fs.linkSync(path.join(hooksDir, name), target);
    } catch {
      // Another filesystem (EXDEV) or no hard links there: a copy behaves the same, it just takes space.
      fs.copyFileSync(path.join(hooksDir, name), target);
      fs.chmodSync(target, 0o755);
    }
  }
  const hooks = Object.fromEntries(
    Object.entries(RevisionHooks).map(([event, name]) => [event, [{ location: `hooks/${name}`, timeout: event === 'ValidateService' ? 300 : 180, runas: 'root' }]]),
  );
  fs.writeFileSync(path.join(dir, 'appspec.yml'), stringify({ version: 0.0, os: 'linux', files: [{ source: '/', destination: dir }], hooks }));
  fs.writeFileSync(path.join(dir, 'portproof.yml'), stringify(config));
}
