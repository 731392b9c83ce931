// Every line portproof prints passes through here: secrets hidden, control characters gone, cut on whole code points.
import { redactSecrets } from './redact.ts';

// ESC sequences as a whole (CSI with its parameters, OSC up to its terminator, two-byte escapes), then the 8-bit CSI.
const EscapeSequence = anyOf(
  /\x1b\[[0-?]*[ -/]*[@-~]?/,
  /\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?/,
  /\x1b[ -/]*[0-~]?/,
  /\x9b[0-?]*[ -/]*[@-~]?/,
);
// C0 and C1 controls, DEL, bidi overrides and isolates (they reorder what a person reads), U+FFFD (bytes that were
// not UTF-8: binary in an app's log) and lone surrogates.
const Unprintable = anyOf(
  /[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufffd]/,
  /[\ud800-\udbff](?![\udc00-\udfff])/,
  /(?<![\ud800-\udbff])[\udc00-\udfff]/,
);

/** Longest ordinary printed line in UTF-8 bytes: the console's tail drops every line if one is over ~2 KB. */
export const MaxLineChars = 300;

function anyOf(...patterns: RegExp[]): RegExp {
  return new RegExp(patterns.map((p) => p.source).join('|'), 'g');
}

/** Text without terminal escapes or control characters; line breaks and tabs become one space. */
export function stripControls(text: string): string {
  return text
    .replace(/[\r\n\t]+/g, ' ')
    .replace(EscapeSequence, '')
    .replace(Unprintable, '');
}

/** The text's size in UTF-8 bytes, which is what the console's line limits count. */
export function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** Cut text to at most `maxBytes` UTF-8 bytes on a whole code point, marking the cut with "…". */
export function cutOnCodePoints(text: string, maxBytes: number): string {
  if (utf8Bytes(text) <= maxBytes) return text;
  const budget = maxBytes - utf8Bytes('…');
  let used = 0;
  let kept = '';
  for (const codePoint of text) {
    const size = utf8Bytes(codePoint);
    if (used + size > budget) break;
    used += size;
    kept += codePoint;
  }
  return `${kept}…`;
}

/** One printable line: secrets hidden, controls stripped, at most `maxBytes` UTF-8 bytes. */
export function cleanLine(text: string, maxBytes: number): string {
  // Hidden before stripping (a secret split by a line break) and after (a secret split by an escape sequence).
  return cutOnCodePoints(redactSecrets(stripControls(redactSecrets(text))), maxBytes);
}

/** A JSON-bound value with every string in it cleaned as a printed line is (secrets hidden, controls gone), uncut. */
export function cleanStrings<T>(value: T): T {
  if (typeof value === 'string') return redactSecrets(stripControls(redactSecrets(value))) as T;
  if (Array.isArray(value)) return value.map((item) => cleanStrings(item)) as T;
  // Dates and other objects with their own JSON form keep it; plain objects are cleaned key by key.
  if (value === null || typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) return value;
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [cleanStrings(key), cleanStrings(item)])) as T;
}

/** A line fit to print: secrets hidden, control characters stripped, cut to `max` UTF-8 bytes on a code point. */
export function cutLine(text: string, max = MaxLineChars): string {
  return cleanLine(text, max);
}
