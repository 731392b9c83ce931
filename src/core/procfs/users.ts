import fs from 'node:fs';

const cache = new Map<string, Map<number, string>>();

/** A user name for a uid from a passwd file (read once and cached), or the uid as text. */
export function lookupUserName(uid: number | null, passwdFile = '/etc/passwd'): string {
  if (uid === null) return '?';
  let names = cache.get(passwdFile);
  if (names === undefined) {
    names = new Map();
    try {
      for (const line of fs.readFileSync(passwdFile, 'utf8').split('\n')) {
        const [name, , id] = line.split(':');
        if (name && id && !names.has(Number(id))) names.set(Number(id), name);
      }
    } catch {
      // No readable passwd file (a minimal container): uids are shown as numbers.
    }
    cache.set(passwdFile, names);
  }
  return names.get(uid) ?? String(uid);
}
