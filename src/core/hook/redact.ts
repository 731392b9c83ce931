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
  let out = hideUrlPasswords(text);
  // Longest first: a secret that contains another is hidden whole.
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) out = out.replaceAll(secret, Hidden);
  return out;
}

/** A serialized JSON line with every remembered secret hidden, in its raw and its JSON-escaped spelling. */
export function redactJsonLine(line: string): string {
  let out = hideUrlPasswords(line);
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    out = out.replaceAll(secret, Hidden).replaceAll(JSON.stringify(secret).slice(1, -1), Hidden);
  }
  return out;
}

/** `scheme://user:password@` becomes `scheme://user:***@`, `scheme://token@` becomes `scheme://***@`, anywhere. */
export function hideUrlPasswords(text: string): string {
  return text
    .replace(/\b([a-z][a-z0-9+.-]*:\/\/[^\s/?#@:"]*):[^\s/?#@"]*@/gi, `$1:${Hidden}@`)
    .replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@:"*]+@/gi, `$1${Hidden}@`);
}
