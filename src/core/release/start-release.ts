import path from 'node:path';
import type { LoadedConfig } from '../config/load.ts';
import type { Progress } from '../progress.ts';
import { makeRelease, nameRelease } from './make-release.ts';

/** The config a start runs with, the app's working directory moved into its release, and the release's name. */
export interface StartRelease {
  config: LoadedConfig;
  name: string | null;
}

/**
 * Make this deployment's release when the app runs from the revision (app.cwd inside the bundle, as by default): the
 * agent deletes old revisions, the live one included, so the app runs from portproof's own copy of the whole revision
 * instead, at the place app.cwd has in the revision (`bundle`'s layout: `<release>/app`). An app.cwd outside the
 * bundle, or the user's own unit, is run as configured.
 */
export function prepareRelease(
  config: LoadedConfig,
  appDir: string,
  deploymentId: string | null,
  out: Progress,
): StartRelease {
  const inside = path.relative(config.bundleRoot, config.app.cwd);
  if (config.app.unit !== undefined || inside.startsWith('..') || path.isAbsolute(inside)) {
    return { config, name: null };
  }
  const release = makeRelease(appDir, nameRelease(deploymentId), config.bundleRoot);
  const how = `${release.linked} file(s) hard-linked, ${release.copied} copied`;
  const skipped = release.skipped.length > 0 ? `; left out (not regular files): ${release.skipped.join(', ')}` : '';
  const locked = release.lockedDirs;
  const lockedSaid =
    locked.length > 0
      ? `; ${locked.length} directory(ies) the revision let others write made root's, writable by root only ` +
        `(${locked.slice(0, 3).join(', ')}${locked.length > 3 ? ', …' : ''}): the app writes outside its release`
      : '';
  out.say(
    release.made ? `Release ${release.dir}: ${how}${skipped}${lockedSaid}` : `Release ${release.dir} already made`,
  );
  const cwd = path.join(release.dir, inside);
  return { config: { ...config, app: { ...config.app, cwd } }, name: release.name };
}
