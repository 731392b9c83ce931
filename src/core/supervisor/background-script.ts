import fs from 'node:fs';
import type { LoadedConfig } from '../config/load.ts';
import { findProgram } from '../config/find-program.ts';
import { resolvePort } from '../config/resolve-port.ts';

const MaxScriptBytes = 64 * 1024;
/** A command sent to the background: a trailing `&` (not `&&`), nohup, setsid, disown, or a daemon helper. */
const Backgrounds = /(?:^|[^&])&\s*(?:#.*)?$|\b(?:nohup|setsid|disown|daemonize|start-stop-daemon)\b/;

/**
 * A start script that puts the app in the background and exits: under a unit systemd stops what the main process
 * leaves behind when it exits, so the app would die with the script. The line that does it, or null.
 */
export function findBackgroundingLine(config: LoadedConfig): { file: string; line: number; text: string } | null {
  const program = resolvePort(config, config.ports[0]!).argv[0];
  if (program === undefined) return null;
  const found = findProgram(program, config.app.cwd, config.app.env.PATH ?? process.env.PATH ?? '', null);
  if (!('file' in found)) return null;
  let text: string;
  try {
    const fd = fs.openSync(found.file, 'r');
    const buffer = Buffer.alloc(MaxScriptBytes);
    const read = fs.readSync(fd, buffer, 0, MaxScriptBytes, 0);
    fs.closeSync(fd);
    text = buffer.subarray(0, read).toString('utf8');
  } catch {
    // Unreadable: the program check says why, if it matters.
    return null;
  }
  // Only scripts: a binary's bytes say nothing about how it runs.
  if (!text.startsWith('#!')) return null;
  const lines = text.split('\n');
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    if (line.startsWith('#') || !Backgrounds.test(line)) continue;
    return { file: found.file, line: index + 1, text: line.length > 60 ? `${line.slice(0, 59)}…` : line };
  }
  return null;
}

/** The problem line for a backgrounding script under systemd, with its one-line fix; '' when there is none. */
export function describeBackgrounding(config: LoadedConfig): string {
  const found = findBackgroundingLine(config);
  if (found === null) return '';
  const where = `${found.file} line ${found.line} ("${found.text}")`;
  return (
    `app.command: ${where} puts the app in the background, which systemd stops when the script exits: ` +
    'start it with exec (exec java …) instead, or set app.supervisor: direct'
  );
}
