import type * as z from 'zod/mini';
import { hideUrlPasswords } from '../text/redact.ts';
import { listKnownKeys } from './schema.ts';
import { suggestKey } from './suggest-key.ts';

// One config problem as a line a person can act on: the key, what it must be, and what the file holds instead.

/**
 * Every issue worth a line, the root cause first: once a key has the wrong type, the checks that ran on it anyway say
 * nothing more; an unknown key leads, as `helth:` is why `health:` is missing.
 */
export function keepFirstIssuePerKey(issues: z.core.$ZodIssue[]): z.core.$ZodIssue[] {
  const wrongType = new Set(issues.filter((i) => i.code === 'invalid_type').map((i) => i.path.join('\0')));
  const kept = issues.filter((i) => i.code === 'invalid_type' || !wrongType.has(i.path.join('\0')));
  return [...kept.filter((i) => i.code === 'unrecognized_keys'), ...kept.filter((i) => i.code !== 'unrecognized_keys')];
}

/** `key: what is expected, got what was found` for one validation issue (zod run with reportInput). */
export function describeIssue(issue: z.core.$ZodIssue): string {
  const key = issue.path.length > 0 ? issue.path.map(String).join('.') : '(top level)';
  if (issue.code === 'unrecognized_keys') {
    const where = issue.path.length > 0 ? `${key}.` : '';
    const known = listKnownKeys(issue.path);
    const named = issue.keys.map((k) => {
      const meant = suggestKey(k, known);
      return meant === null ? `${where}${k}` : `${where}${k} (did you mean ${meant}?)`;
    });
    return `unknown key ${named.join(', ')}`;
  }
  if (issue.code === 'invalid_type' && issue.input === undefined) return `${key}: is required`;
  let expected = issue.message.startsWith('Invalid input') ? expectedFromType(issue) : issue.message;
  if (issue.code === 'invalid_value' && typeof issue.input === 'string') {
    const meant = suggestKey(issue.input, issue.values.map(String));
    if (meant !== null) expected = `${expected} (did you mean ${meant}?)`;
  }
  // app.env values are secrets: the key is named, its value never echoed.
  if (issue.path[0] === 'app' && issue.path[1] === 'env') return `${key}: ${expected}`;
  const found = describeValue(issue.input);
  // A message that already names the value (a bad duration, a CA file not found) says it once.
  const input = typeof issue.input === 'string' || typeof issue.input === 'number' ? String(issue.input) : null;
  if (found === null || (input && (expected.includes(JSON.stringify(input)) || expected.startsWith(`${input} `)))) {
    return `${key}: ${expected}`;
  }
  return `${key}: ${expected}, got ${found}`;
}

const TypeNames: Record<string, string> = { array: 'a list', object: 'a map', string: 'text', int: 'a whole number' };

function expectedFromType(issue: z.core.$ZodIssue): string {
  if (issue.code !== 'invalid_type') return 'is not valid';
  return `must be ${TypeNames[issue.expected] ?? issue.expected}`;
}

/** What the file holds, as a person would describe it: the string "…", 8081.5, a list [..], nothing. */
export function describeValue(value: unknown): string | null {
  if (value === undefined) return null;
  if (value === null) return 'nothing (an empty value)';
  if (typeof value === 'string') return `the string ${JSON.stringify(shorten(hideUrlPasswords(value)))}`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : `the list ${shorten(JSON.stringify(value))}`;
  return typeof value === 'object' ? 'a map' : typeof value;
}

function shorten(text: string, max = 60): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
