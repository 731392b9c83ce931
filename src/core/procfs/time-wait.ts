import fs from 'node:fs';
import path from 'node:path';
import { DefaultProcRoot } from './boot.ts';

/**
 * The network namespace's TIME_WAIT rows (/proc/net/sockstat) and the kernel's cap on them
 * (net.ipv4.tcp_max_tw_buckets), or null where either cannot be read. At the cap a connection that closes leaves no
 * row behind: its absence from the table is then no evidence.
 */
export function readTimeWaitLoad(procRoot = DefaultProcRoot): { rows: number; cap: number } | null {
  try {
    const sockstat = fs.readFileSync(path.join(procRoot, 'net/sockstat'), 'utf8');
    const rows = /^TCP: .* tw (\d+)/m.exec(sockstat)?.[1];
    const cap = fs.readFileSync(path.join(procRoot, 'sys/net/ipv4/tcp_max_tw_buckets'), 'utf8').trim();
    if (rows === undefined || !/^\d+$/.test(cap)) return null;
    return { rows: Number(rows), cap: Number(cap) };
  } catch {
    return null;
  }
}
