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

/** Parse the text of /proc/net/tcp or tcp6 (or the rows selectRows kept); a malformed line is an error naming it. */
export function parseNetTcp(text: string, family: 4 | 6, fileName: string): TcpSocket[] {
  const sockets: TcpSocket[] = [];
  const lines = text.split('\n');
  const addressLength = family === 4 ? 8 : 32;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
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

/** The two tables of the host's network namespace, with the family each row's addresses are in. */
const Tables = [
  ['tcp', 4],
  ['tcp6', 6],
] as const;

/** Which rows of a table to keep: a busy host's holds 100,000 TIME_WAIT rows, and decoding them all takes seconds. */
export interface RowSelection {
  /** Only rows whose text holds one of these (portMarker's), found in the raw bytes (see selectRows). */
  markers?: readonly string[];
  /** Of those, the ones this passes. */
  keep?: (line: string) => boolean;
  /** Read no further than the listeners (see readListeningTcpSockets). */
  listeningOnly?: boolean;
}

/** Every TCP socket of the host's network namespace, IPv4 and IPv6 (no tcp6 without IPv6), or a selection of them. */
export function readTcpSockets(procRoot: string, selection: RowSelection = {}): TcpSocket[] {
  let sockets: TcpSocket[] = [];
  for (const [name, family] of Tables) {
    const file = path.join(procRoot, 'net', name);
    const raw = readTable(file, family, selection.listeningOnly);
    // concat, not push(...rows): a whole table's 100,000 rows as arguments overflow the stack.
    if (raw !== null) sockets = sockets.concat(parseNetTcp(selectRows(raw, selection), family, file));
  }
  return sockets;
}

/**
 * The listening sockets (of a port, with its marker): the kernel lists its listening hash before the established one,
 * so the read stops at the first row in another state, and a busy host's 100,000 TIME_WAIT rows are never walked.
 */
export function readListeningTcpSockets(procRoot: string, markers?: readonly string[]): TcpSocket[] {
  return readTcpSockets(procRoot, { markers, listeningOnly: true }).filter((s) => s.state === TcpListen);
}

/**
 * The text of /proc/net/tcp and tcp6 with only the rows selected (and the header line): what a sample of the table
 * is, for the pure stages to decode later. A kernel without IPv6 gives an empty tcp6. Read without blocking the
 * event loop: the kernel's walk of a busy table takes a while, and a request the hook is waiting on meanwhile must be
 * answered in time, not after the hook's own reading.
 */
export async function readTcpText(
  procRoot: string,
  selection: Omit<RowSelection, 'listeningOnly'>,
): Promise<{ tcp: string; tcp6: string }> {
  const texts = { tcp: '', tcp6: '' };
  for (const [name, family] of Tables) {
    const file = path.join(procRoot, 'net', name);
    const raw = await readTableAsync(file, family);
    if (raw !== null) texts[name] = selectRows(raw, selection);
  }
  return texts;
}

/**
 * The header line and every row of a raw table whose text holds one of `markers` (all rows without markers) and
 * that `keep` passes, in the table's order. Each marker is searched for in the bytes natively: the text of a table
 * with 100,000 rows is never made, split or matched line by line in JavaScript. Rows are checked again once decoded.
 */
function selectRows(raw: Buffer, { markers, keep }: RowSelection): string {
  const headerEnd = raw.indexOf(0x0a);
  if (markers === undefined || headerEnd < 0) {
    const text = raw.toString('latin1');
    if (!keep) return text;
    const [header = '', ...rows] = text.split('\n');
    return [header, ...rows.filter(keep)].join('\n');
  }
  const rows = new Map<number, number>();
  for (const marker of markers) {
    const needle = Buffer.from(marker, 'latin1');
    for (let at = raw.indexOf(needle, headerEnd); at >= 0; ) {
      const start = raw.lastIndexOf(0x0a, at) + 1;
      const newline = raw.indexOf(0x0a, at);
      const end = newline < 0 ? raw.length : newline;
      rows.set(start, end);
      at = newline < 0 ? -1 : raw.indexOf(needle, newline);
    }
  }
  const lines = [raw.toString('latin1', 0, headerEnd)];
  for (const start of [...rows.keys()].sort((a, b) => a - b)) {
    const line = raw.toString('latin1', start, rows.get(start));
    if (!keep || keep(line)) lines.push(line);
  }
  return lines.join('\n');
}

/** A table's bytes, or null for a tcp6 that does not exist (IPv6 disabled: there are no IPv6 sockets to list). */
function readTable(file: string, family: 4 | 6, listeningOnly = false): Buffer | null {
  try {
    return readProcBytes(file, listeningOnly);
  } catch (error) {
    return missingTable(file, family, error);
  }
}

async function readTableAsync(file: string, family: 4 | 6): Promise<Buffer | null> {
  try {
    return await readProcBytesAsync(file);
  } catch (error) {
    return missingTable(file, family, error);
  }
}

function missingTable(file: string, family: 4 | 6, error: unknown): null {
  if ((error as NodeJS.ErrnoException).code === 'ENOENT' && family === 6) return null;
  throw unreadableProcError(file, error);
}

/** The text ` :1F91 ` a row of /proc/net/tcp holds where one of its ends is `port`: a cheap filter before decoding. */
export function portMarker(port: number): string {
  return `:${port.toString(16).toUpperCase().padStart(4, '0')} `;
}

/** First size of the buffer a table is read into; it doubles as the table grows (4 KB a row-page at a time). */
const ProcReadBytes = 1 << 20;

/**
 * A /proc file's whole content (its size is 0 to stat). The kernel gives a table a page per read: 12 MB is 3,000
 * reads, each into the one growing buffer (a fresh buffer per read cost a busy host seconds and gigabytes). With
 * `listeningOnly`, the content up to the first row that is not a listener.
 */
function readProcBytes(file: string, listeningOnly = false): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    let buffer: Buffer = Buffer.allocUnsafe(ProcReadBytes);
    let length = 0;
    // Where the first row not yet checked for its state starts (after the header line).
    let unchecked = -1;
    for (;;) {
      if (length === buffer.length) buffer = grow(buffer);
      const read = fs.readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) return buffer.subarray(0, length);
      length += read;
      if (!listeningOnly) continue;
      if (unchecked < 0) unchecked = buffer.subarray(0, length).indexOf(0x0a) + 1 || -1;
      if (unchecked < 0) continue;
      const end = endOfListeners(buffer.subarray(0, length), unchecked);
      if (end.done) return buffer.subarray(0, end.at);
      unchecked = end.at;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** readProcBytes in libuv's thread pool. */
async function readProcBytesAsync(file: string): Promise<Buffer> {
  const handle = await fs.promises.open(file, 'r');
  try {
    let buffer: Buffer = Buffer.allocUnsafe(ProcReadBytes);
    let length = 0;
    for (;;) {
      if (length === buffer.length) buffer = grow(buffer);
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) return buffer.subarray(0, length);
      length += bytesRead;
    }
  } finally {
    await handle.close();
  }
}

/**
 * From `from`, the start of the first whole row of the established hash (done), or of the first partial row. A
 * SYN_RECV row does not end the listeners: kernels before 4.4 list a listener's pending connections right after it.
 */
function endOfListeners(bytes: Buffer, from: number): { done: boolean; at: number } {
  let at = from;
  for (let newline = bytes.indexOf(0x0a, at); newline >= 0; newline = bytes.indexOf(0x0a, at)) {
    const state = Number.parseInt(bytes.toString('latin1', at, newline).trim().split(/\s+/)[3] ?? '', 16);
    if (!Number.isNaN(state) && state !== TcpListen && state !== TcpSynRecv) return { done: true, at };
    at = newline + 1;
  }
  return { done: false, at };
}

function grow(buffer: Buffer): Buffer {
  const larger = Buffer.allocUnsafe(buffer.length * 2);
  buffer.copy(larger);
  return larger;
}
