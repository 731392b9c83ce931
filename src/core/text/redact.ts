// The safety net behind every printed line and every hooks.log line: the config's secrets, wherever they turn up.

/** What a hidden secret is shown as. */
export const Hidden = '***';

const secrets = new Set<string>();

/** Remember values that must never be printed or logged (URL passwords, app.env values) for this process. */
export function hideSecrets(values: Iterable<string>): void {
  for (const value of values) if (value.length > 0) secrets.add(value);
}

/** Text with every remembered secret and any URL password replaced by ***. */
export function redactSecrets(text: string): string {
  let out = text;
  // Remembered secrets first, longest first: a secret that contains another (or an `@`) is hidden whole, before the
  // URL pattern could cut it at a character the pattern stops at.
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) out = out.replaceAll(secret, Hidden);
  return hideUrlPasswords(out);
}

/** A serialized JSON line with every remembered secret hidden, in its raw and its JSON-escaped spelling. */
export function redactJsonLine(line: string): string {
  let out = line;
  // As redactSecrets: remembered secrets whole first, then any URL password.
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    out = out.replaceAll(secret, Hidden).replaceAll(JSON.stringify(secret).slice(1, -1), Hidden);
  }
  return hideUrlPasswords(out);
}

/**
 * `scheme://user:password@` becomes `scheme://user:***@`, `scheme://token@` becomes `scheme://***@`, anywhere. The
 * userinfo ends at the authority's LAST `@` (as URL parsers read it): a raw `@` in a password is hidden with it.
 */
export function hideUrlPasswords(text: string): string {
  return text
    .replace(/\b([a-z][a-z0-9+.-]*:\/\/[^\s/?#@:"]*):[^\s/?#"]*@/gi, `$1:${Hidden}@`)
    .replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#:"*]+@/gi, `$1${Hidden}@`);
}
