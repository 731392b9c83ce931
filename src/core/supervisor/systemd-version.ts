import { spawnSync } from 'node:child_process';

/** The first systemd with Type=exec and StandardOutput=append: (RHEL 8's 239 has neither). */
export const ExecAndAppendSince = 240;

/** The first systemd with InvocationID, which tells one run of a unit from the next. */
export const InvocationIdSince = 232;

let cached: number | null | undefined;

/** systemd's version on this host, read once per hook; null when systemctl cannot tell. */
export function readSystemdVersion(): number | null {
  if (cached === undefined) {
    const run = spawnSync('systemctl', ['--version'], { encoding: 'utf8', timeout: 10_000 });
    cached = run.status === 0 ? parseSystemdVersion(run.stdout) : null;
  }
  return cached;
}

/** The version in `systemctl --version`'s first line ("systemd 239 (239-78.el8)"); null when it names none. */
export function parseSystemdVersion(text: string): number | null {
  const match = /^systemd (\d+)\b/.exec(text.trimStart());
  return match ? Number(match[1]) : null;
}

/** True when this systemd writes the app's output to app.log itself (append:); older ones to the journal. */
export function canAppendLog(version: number | null): boolean {
  return version === null || version >= ExecAndAppendSince;
}

/** Why this systemd cannot supervise as portproof proves a run ('' when it can): no InvocationID before v232. */
export function describeTooOld(version: number | null): string {
  if (version === null || version >= InvocationIdSince) return '';
  return `systemd ${version} has no InvocationID (v${InvocationIdSince}), which proves one run from the next`;
}
