import type fs from 'node:fs';
import { lookupUserName } from './procfs/users.ts';

/** Who besides root may write a directory a root hook relies on, and how to take that away. */
export interface OtherWriters {
  /** "owned by nobody (uid 65534), not root (mode 0755)" or "writable by group and others (owner root, mode 0777)". */
  problem: string;
  fix: string;
}

/**
 * The one rule "only root can write this directory": owned by root (or `allowUid`, the hook's own user when it is not
 * root) and not writable by group or others. A root-owned sticky directory (like /tmp) passes when `stickyOk`: others
 * cannot remove or rename root's entries in it. Null when the rule holds.
 */
export function findOtherWriters(
  dir: string,
  stat: fs.Stats,
  options: { stickyOk: boolean; allowUid?: number },
): OtherWriters | null {
  const allowUid = options.allowUid ?? 0;
  const mode = `0${(stat.mode & 0o7777).toString(8)}`;
  const wrongOwner = stat.uid !== 0 && stat.uid !== allowUid;
  const sticky = options.stickyOk && stat.uid === 0 && (stat.mode & 0o1000) !== 0;
  const writable = sticky
    ? ''
    : [stat.mode & 0o020 ? 'group' : '', stat.mode & 0o002 ? 'others' : ''].filter(Boolean).join(' and ');
  if (!wrongOwner && !writable) return null;
  const allowed = allowUid === 0 ? 'root' : `root or ${lookupUserName(allowUid)}`;
  const problems = [
    wrongOwner ? `owned by ${lookupUserName(stat.uid)} (uid ${stat.uid}), not ${allowed}` : '',
    writable ? `writable by ${writable}` : '',
  ];
  const facts = wrongOwner ? `mode ${mode}` : `owner ${lookupUserName(stat.uid)}, mode ${mode}`;
  const fix = [
    wrongOwner ? `chown ${allowUid === 0 ? 'root:root' : lookupUserName(allowUid)} ${dir}` : '',
    writable ? `chmod go-w ${dir}` : '',
  ];
  return { problem: `${problems.filter(Boolean).join(' and ')} (${facts})`, fix: fix.filter(Boolean).join(' && ') };
}
