import fs from 'node:fs';
import path from 'node:path';
import type { TcpSocket } from './types.ts';
import { malformedProcError, unreadableProcError } from './proc-errors.ts';

/** The kernel TCP state of a listening socket. */
export const TcpListen = 0x0a;
/** Kernel TCP states (include/net/tcp_states.h) the traffic proof tells apart. */
export const TcpEstablished = 0x01;
export const TcpSynRecv = 0x03;
export const TcpTimeWait = 0x06;

/** Decode the kernel's hex address: IPv4 is one little-endian word, IPv6 four of them. */
export function decodeAddress(hex: string, family: 4 | 6): string {
  if (family === 4) {
    const n = Number.parseInt(hex, 16);
    return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24].join('.');
  }
  const bytes: number[] = [];
  for (let word = 0; word < 4; word++) {
    const n = Number.parseInt(hex.slice(word * 8, word * 8 + 8), 16);
    bytes.push(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24);
  }
  const isMapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (isMapped) return `::ffff:${bytes.slice(12).join('.')}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return compressIpv6(groups);
}

function compressIpv6(groups: string[]): string {
  let best = { start: -1, length: 0 };
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === '0') j++;
    if (j - i > best.length && j - i > 1) best = { start: i, length: j - i };
    i = j;
  }
  if (best.start < 0) return groups.join(':');
  return `${groups.slice(0, best.start).join(':')}::${groups.slice(best.start + best.length).join(':')}`;
}

/**
 * Parse the text of /proc/net/tcp or tcp6; a malformed line is an error naming the file and line number. `keep`
 * can pass over lines by their raw text first, so a busy host's table is not decoded row by row for one port.
 */
export function parseNetTcp(
  text: string,
  family: 4 | 6,
  fileName: string,
  keep: (line: string) => boolean = () => true,
): TcpSocket[] {
  const sockets: TcpSocket[] = [];
  const lines = text.split('\n');
  const addressLength = family === 4 ? 8 : 32;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || !keep(line)) continue;
    const fields = line.split(/\s+/);
    const [local, remote, state, , timer, , uid, , inode] = fields.slice(1);
    const [localHex, localPort] = local?.split(':') ?? [];
    const [remoteHex, remotePort] = remote?.split(':') ?? [];
    const valid =
      fields.length >= 10 &&
      localHex?.length === addressLength &&
      remoteHex?.length === addressLength &&
      /^[0-9A-Fa-f]{4}$/.test(localPort ?? '') &&
      /^[0-9A-Fa-f]{4}$/.test(remotePort ?? '') &&
      /^[0-9A-Fa-f]{2}$/.test(state ?? '') &&
      /^\d+$/.test(uid ?? '') &&
      /^\d+$/.test(inode ?? '');
    if (!valid) throw malformedProcError(`${fileName} line ${i + 1}: malformed socket entry: ${line.slice(0, 120)}`);
    sockets.push({
      family,
      localAddress: decodeAddress(localHex!, family),
      localPort: Number.parseInt(localPort!, 16),
      remoteAddress: decodeAddress(remoteHex!, family),
      remotePort: Number.parseInt(remotePort!, 16),
      state: Number.parseInt(state!, 16),
      uid: Number(uid),
      inode: Number(inode),
      timerJiffies: Number.parseInt(timer?.split(':')[1] ?? '0', 16) || 0,
    });
  }
  return sockets;
}

/** Every TCP socket of the host's network namespace, IPv4 and IPv6 (a kernel without IPv6 has no tcp6). */
export function readTcpSockets(procRoot: string, keep?: (line: string) => boolean): TcpSocket[] {
  const sockets: TcpSocket[] = [];
  for (const [name, family] of [
    ['tcp', 4],
    ['tcp6', 6],
  ] as const) {
    const file = path.join(procRoot, 'net', name);
    let text: string;
    try {
      text = readProcText(file);
    } catch (error) {
      // No tcp6 file: IPv6 is disabled on this kernel, so there are no IPv6 sockets to list.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && family === 6) continue;
      throw unreadableProcError(file, error);
    }
    sockets.push(...parseNetTcp(text, family, file, keep));
  }
  return sockets;
}

/**
 * The text of /proc/net/tcp and tcp6 with only the rows `keep` passes (and the header line): what a sample of the
 * table is, for the pure stages to decode later. A kernel without IPv6 gives an empty tcp6.
 */
export function readTcpText(procRoot: string, keep: (line: string) => boolean): { tcp: string; tcp6: string } {
  const texts = { tcp: '', tcp6: '' };
  for (const name of ['tcp', 'tcp6'] as const) {
    const file = path.join(procRoot, 'net', name);
    let text: string;
    try {
      text = readProcText(file);
    } catch (error) {
      // No tcp6 file: IPv6 is disabled on this kernel, so there are no IPv6 sockets to list.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && name === 'tcp6') continue;
      throw unreadableProcError(file, error);
    }
    const lines = text.split('\n');
    texts[name] = [lines[0] ?? '', ...lines.slice(1).filter(keep)].join('\n');
  }
  return texts;
}

/** The text ` :1F91 ` a row of /proc/net/tcp holds where one of its ends is `port`: a cheap filter before decoding. */
export function portMarker(port: number): string {
  return `:${port.toString(16).toUpperCase().padStart(4, '0')} `;
}

/** Read size for /proc/net/tcp: with tens of thousands of TIME_WAIT rows, fewer, larger reads cost half the time. */
const ProcReadBytes = 1 << 20;

/** A /proc file's whole text in large reads (its size is 0 to stat, so readFileSync reads it in small steps). */
function readProcText(file: string): string {
  const fd = fs.openSync(file, 'r');
  try {
    const chunks: Buffer[] = [];
    for (;;) {
      const chunk = Buffer.allocUnsafe(ProcReadBytes);
      const read = fs.readSync(fd, chunk, 0, ProcReadBytes, null);
      if (read === 0) break;
      chunks.push(chunk.subarray(0, read));
    }
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}
