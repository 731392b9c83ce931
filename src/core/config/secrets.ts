import type { Config } from './schema.ts';

// Which config values are secrets, and how a URL is shown without its password.

/** The URL as it may be printed and logged: the password in its userinfo (or a userinfo that is a token) as ***. */
export function displayUrl(url: string): string {
  const match = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)@/i.exec(url);
  if (!match) return url;
  const userinfo = match[2]!;
  const colon = userinfo.indexOf(':');
  const shown = colon === -1 ? '***' : `${userinfo.slice(0, colon)}:***`;
  return `${match[1]}${shown}@${url.slice(match[0].length)}`;
}

// app.env values shorter than this are settings, not secrets (SPRING_PROFILES_ACTIVE=prod, WORKERS=4): hiding them
// would blank out words in every line ("***uction.log"). They are still never echoed by config messages.
const MinSecretChars = 8;
const Ordinary = /^(\d+|true|false|yes|no|on|off|null)$/i;

/** Every value the config holds that must never be printed or logged: URL passwords and app.env values. */
export function listSecrets(config: Pick<Config, 'app' | 'health' | 'nginx'>): string[] {
  const urls = [config.health.url, config.nginx?.url].filter((u): u is string => u !== undefined);
  const passwords = urls.flatMap(readUrlPassword);
  // A multi-line value is also remembered line by line: logs are split into lines before they are redacted.
  const envValues = Object.values(config.app.env ?? {}).flatMap((v) => [v, ...v.split(/\r?\n|\r/)]);
  return [...new Set([...passwords, ...envValues.filter(isSecretValue)])];
}

/** A value long and unusual enough to hide wherever it turns up. */
function isSecretValue(value: string): boolean {
  return value.length >= MinSecretChars && !Ordinary.test(value);
}

function readUrlPassword(url: string): string[] {
  const match = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)@/i.exec(url);
  if (!match) return [];
  // A userinfo without a colon is a token on its own (https://TOKEN@host): all of it is the secret.
  const raw = match[1]!.slice(match[1]!.indexOf(':') + 1);
  if (raw.length === 0) return [];
  let decoded = raw;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    // A malformed %-escape: the raw spelling is the only one that can appear.
  }
  return decoded === raw ? [raw] : [raw, decoded];
}
