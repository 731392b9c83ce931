import fs from 'node:fs';
import { HookError } from '../errors.ts';

/** A login account to run the app as. */
export interface Account {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** Look a user up in /etc/passwd by name (no NSS: a service account on an EC2 host lives there). */
export function lookupAccount(name: string, passwdFile = '/etc/passwd'): Account {
  for (const line of fs.readFileSync(passwdFile, 'utf8').split('\n')) {
    const [user, , uid, gid, , home] = line.split(':');
    if (user === name && uid !== undefined && gid !== undefined)
      return { name, uid: Number(uid), gid: Number(gid), home: home ?? '/' };
  }
  throw new HookError('BAD_CONFIG', `app.user: no user "${name}" in ${passwdFile}`);
}

const accounts = new Map<string, Account>();

/** app.user's account, looked up once per hook (null without app.user): the one place the config's user is read. */
export function findAppAccount(appUser: string | undefined): Account | null {
  if (!appUser) return null;
  let account = accounts.get(appUser);
  if (account === undefined) {
    account = lookupAccount(appUser);
    accounts.set(appUser, account);
  }
  return account;
}

/** The uid the app runs as: app.user's (root's without one) when the hook is root, the hook's own otherwise. */
export function findAppUid(appUser: string | undefined): number {
  const uid = process.getuid?.() ?? 0;
  return uid === 0 ? (findAppAccount(appUser)?.uid ?? 0) : uid;
}

/** Where setpriv (util-linux, on Debian, Ubuntu, Amazon Linux and RHEL alike) is looked for. */
const SetprivPaths = ['/usr/bin/setpriv', '/bin/setpriv', '/usr/sbin/setpriv', '/sbin/setpriv'];

/**
 * The argv that runs `argv` as `account` with its supplementary groups (initgroups), as su, runuser and systemd's
 * User= do; Node's own uid/gid drop clears them. setpriv execs the program, so its PID is the app's.
 */
export function runAsAccount(account: Account, argv: string[]): string[] {
  const setpriv = SetprivPaths.find((file) => fs.existsSync(file));
  if (setpriv === undefined) {
    const why = `it runs the app as ${account.name} with that user's groups`;
    throw new HookError('BAD_CONFIG', `app.user: setpriv (util-linux) is not installed; ${why}`);
  }
  return [setpriv, `--reuid=${account.uid}`, `--regid=${account.gid}`, '--init-groups', '--', ...argv];
}
