// Durations in config: "500ms", "30s", "2m" (the schema refuses a bare number other than 0).

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds for a duration string, or null when the text is not one. */
export function parseDuration(text: string | number): number | null {
  if (typeof text === 'number') return Number.isFinite(text) && text >= 0 ? text : null;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  if (!match) return null;
  return Math.round(Number(match[1]) * units[match[2]!]!);
}

/**
 * A duration as people read it. `hook` (the hooks' lines, tenths of a second matter): 850 ms, 8.0 s, 2 m 5 s.
 * `clock` (`portproof why`, deployments last minutes): 850ms, 12s, 4m 08s, 1h 02m.
 */
export function formatDuration(ms: number, style: 'hook' | 'clock' = 'hook'): string {
  if (style === 'clock') return formatClockDuration(ms);
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return seconds === 0 ? `${minutes} m` : `${minutes} m ${seconds} s`;
}

function formatClockDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}
