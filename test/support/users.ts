import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

/**
 * Make sure a test group and a user in it exist (the user's primary group is nogroup: initgroups lists the primary
 * group too, and the tests are about the others); the group's gid. Idempotent: test files run again and again on one
 * machine, and useradd/groupadd refuse duplicates.
 */
export function ensureUserWithGroup(user: string, group: string): number {
  execFileSync('groupadd', ['-f', group]);
  const exists = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .some((line) => line.startsWith(`${user}:`));
  const options = ['--no-create-home', '--shell', '/usr/sbin/nologin', '--gid', 'nogroup', '--groups', group];
  if (!exists) execFileSync('useradd', [...options, user]);
  else execFileSync('usermod', ['--append', '--groups', group, user]);
  const line = fs
    .readFileSync('/etc/group', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${group}:`))!;
  return Number(line.split(':')[2]);
}
