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
    if (user === name && uid !== undefined && gid !== undefined) return { name, uid: Number(uid), gid: Number(gid), home: home ?? '/' };
  }
  throw new HookError('BAD_CONFIG', `app.user: no user "${name}" in ${passwdFile}`);
}
