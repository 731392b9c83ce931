import fs from 'node:fs';
import { HookError } from '../errors.ts';

/** The include's whole text for a port, from the configured line. */
export function renderInclude(line: string, port: number): string {
  return `${line.replaceAll('{port}', String(port))}\n`;
}

/** The port an include's text points at, matched against the configured line; null if it matches no port. */
export function parseIncludePort(text: string, line: string): number | null {
  const [before, after] = line.split('{port}').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\s+/g, '\\s+'));
  const match = new RegExp(`${before}(\\d{1,5})${after}`).exec(text);
  return match ? Number(match[1]) : null;
}

/** The live port: the one nginx's include names now. */
export function readLivePort(includeFile: string, line: string): { port: number | null; text: string } {
  let text: string;
  try {
    text = fs.readFileSync(includeFile, 'utf8');
  } catch (error) {
    // No include yet means nothing is live (a first deployment); any other error is the operator's to fix.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { port: null, text: '' };
    throw new HookError('NGINX_FAILED', `cannot read nginx include ${includeFile}: ${(error as Error).message}`);
  }
  return { port: parseIncludePort(text, line), text };
}
