import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { HookEntries, LifecycleEvents, type LifecycleEvent } from '../core/events.ts';

/** What goes into a revision directory. */
export interface RevisionSpec {
  /** portproof.yml, as an object. */
  config: Record<string, unknown>;
  /** Copy (or hard-link) the compiled hooks from here into hooks/, so each finds its bundle from its own path. */
  hooksDir?: string;
  /** appspec.yml timeouts in seconds per event; 300 where not given. */
  timeouts?: Partial<Record<LifecycleEvent, number>>;
  /** appspec.yml's files section: the revision copied whole to this directory. */
  destination?: string;
}

/**
 * Lay out a revision directory as CodeDeploy unpacks one: appspec.yml naming the hooks of src/core/events.ts,
 * portproof.yml, and with hooksDir the compiled hooks in hooks/.
 */
export function writeRevision(dir: string, spec: RevisionSpec): void {
  fs.mkdirSync(dir, { recursive: true });
  if (spec.hooksDir !== undefined) linkHooks(spec.hooksDir, path.join(dir, 'hooks'));
  const hooks = Object.fromEntries(
    LifecycleEvents.map(({ event, executable }) => [
      event,
      [{ location: executable, timeout: spec.timeouts?.[event] ?? 300, runas: 'root' }],
    ]),
  );
  const files = spec.destination === undefined ? {} : { files: [{ source: '/', destination: spec.destination }] };
  fs.writeFileSync(path.join(dir, 'appspec.yml'), stringify({ version: 0.0, os: 'linux', ...files, hooks }));
  fs.writeFileSync(path.join(dir, 'portproof.yml'), stringify(spec.config));
}

function linkHooks(from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true });
  for (const name of HookEntries) {
    const target = path.join(to, name);
    try {
      fs.linkSync(path.join(from, name), target);
    } catch {
      // Another filesystem (EXDEV) or no hard links there: a copy behaves the same, it just takes space.
      fs.copyFileSync(path.join(from, name), target);
      fs.chmodSync(target, 0o755);
    }
  }
}
