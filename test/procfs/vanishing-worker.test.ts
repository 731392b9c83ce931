import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkTreeOwnsPort, findListeners } from '../../src/core/procfs/index.ts';
import { proveTreeOwnsPort } from '../../src/core/ownership/prove-owner.ts';
import { readProcessInfo } from '../../src/core/procfs/index.ts';

// A worker that exits between two reads of /proc (apps that recycle SO_REUSEPORT workers): the first read of
// /proc/net/tcp still lists its listening socket, but no process holds it any more. A fake /proc whose net/tcp is a
// FIFO fed by a writer process shows that moment exactly: the first read sees the worker's row, every later one not.

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-vanish-'));
const writers: ChildProcess[] = [];
afterAll(() => {
  for (const writer of writers) writer.kill('SIGKILL');
  fs.rmSync(root, { recursive: true, force: true });
});

const bootId = '11111111-2222-3333-4444-555555555555';
const header = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
const row = (sl: number, local: string, state: string, inode: number) =>
  `   ${sl}: ${local} 00000000:0000 ${state} 00000000:00000000 00:00000000 00000000     0        0 ${inode} 1 0000000000000000 100 0 0 10 0`;

function writeProcess(
  dir: string,
  pid: number,
  ppid: number,
  start: number,
  opts: { sockets?: number[]; fd?: boolean },
) {
  const at = path.join(dir, String(pid));
  fs.mkdirSync(at, { recursive: true });
  fs.writeFileSync(
    path.join(at, 'stat'),
    `${pid} (app) S ${ppid} ${pid} ${pid} 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 ${start} 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n`,
  );
  fs.writeFileSync(path.join(at, 'status'), 'Name:\tapp\nUid:\t0\t0\t0\t0\n');
  fs.writeFileSync(path.join(at, 'cmdline'), 'app\0');
  if (opts.fd === false) return;
  fs.mkdirSync(path.join(at, 'fd'));
  for (const [i, inode] of (opts.sockets ?? []).entries())
    fs.symlinkSync(`socket:[${inode}]`, path.join(at, 'fd', String(i + 3)));
}

/** A fake /proc in `name` whose net/tcp reads `first` once, then `later` on every read after. */
function fakeProc(name: string, first: string[], later: string[]): string {
  const dir = path.join(root, name);
  fs.mkdirSync(path.join(dir, 'net'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'sys/kernel/random'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'sys/kernel/random/boot_id'), `${bootId}\n`);
  fs.writeFileSync(path.join(dir, 'stat'), 'cpu 1 2 3\nbtime 1700000000\n');
  fs.writeFileSync(path.join(dir, 'net/tcp6'), `${header}\n`);
  const fifo = path.join(dir, 'net/tcp');
  const made = spawnSync('mkfifo', [fifo]);
  if (made.status !== 0) throw new Error('mkfifo (coreutils) is needed: apt-get install -y coreutils');
  // Each write waits for a reader, and the pause lets that reader see its end of file before the next write opens.
  const script = `const fs = require('fs'); const [f, a, b] = process.argv.slice(1);
    const pause = () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    const put = (t) => { try { fs.writeFileSync(f, t); } catch {} pause(); };
    put(a); for (;;) put(b);`;
  const writer = spawn(
    process.execPath,
    ['-e', script, fifo, [header, ...first].join('\n'), [header, ...later].join('\n')],
    {
      stdio: 'ignore',
    },
  );
  writers.push(writer);
  return dir;
}

// 127.0.0.1:8085: the app's own listener (inode 900), and a worker's SO_REUSEPORT one (901) that exits between reads.
const appRow = row(0, '0100007F:1F95', '0A', 900);
const workerRow = row(1, '0100007F:1F95', '0A', 901);
const app = { pid: 100, startTime: 5000, bootId };

describe('a process that vanishes between two reads of /proc', () => {
  it('is read again, not reported as an owner that cannot be read: the tree owns the port', () => {
    const dir = fakeProc('tree', [appRow, workerRow], [appRow]);
    writeProcess(dir, 100, 1, 5000, { sockets: [900] });
    // The worker's directory is gone already: listed by nothing, its socket's row not yet dropped from net/tcp.
    const result = checkTreeOwnsPort(app, 8085, dir);
    expect(result.unknown).toEqual([]);
    expect(result.owned).toBe(true);
    expect(result.listeners.map((l) => l.inode)).toEqual([900]);
  });

  it('a full scan (check, stop) reads it again too: no listener without an owner', () => {
    const dir = fakeProc('all', [appRow, workerRow], [appRow]);
    writeProcess(dir, 100, 1, 5000, { sockets: [900] });
    // Mid-exit: its /proc entry is still listed, its fd directory already gone (ENOENT: vanished, not EACCES).
    writeProcess(dir, 101, 100, 5001, { fd: false });
    const { listeners } = findListeners(8085, dir);
    expect(listeners.map((l) => [l.inode, l.owners.map((o) => o.pid)])).toEqual([[900, [100]]]);
  });

  it('a listener that stays without an owner while processes vanish is not blamed on permissions', () => {
    const dir = fakeProc('stuck', [appRow, workerRow], [appRow, workerRow]);
    writeProcess(dir, 100, 1, 5000, { sockets: [900] });
    writeProcess(dir, 101, 100, 5001, { fd: false });
    const result = checkTreeOwnsPort(app, 8085, dir);
    expect(result.unknown.map((l) => l.inode)).toEqual([901]);
    expect(result.skipped.every((s) => s.reason === 'vanished')).toBe(true);
    const info = readProcessInfo(100, dir)!;
    const proving = () => proveTreeOwnsPort(info, 8085, undefined, dir);
    expect(proving).toThrow(/\(127\.0\.0\.1:8085\) whose owner was not found in 3 reads of \/proc/);
    expect(proving).not.toThrow(/run as root/);
  });
});
