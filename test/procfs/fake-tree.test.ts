import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkTreeOwnsPort,
  findConnectionOwners,
  findListeners,
  isSameProcess,
  listProcessTree,
  readProcessInfo,
  readTimeWaitLoad,
} from '../../src/core/procfs/index.ts';

// A fake /proc: canned net tables and process dirs whose fd entries are symlinks to "socket:[N]", as the kernel shows.
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-fakeproc-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const bootId = '11111111-2222-3333-4444-555555555555';
const row = (sl: number, local: string, remote: string, state: string, inode: number) =>
  `   ${sl}: ${local} ${remote} ${state} 00000000:00000000 00:00000000 00000000     0        0 ${inode} 1 0000000000000000 100 0 0 10 0`;

function writeProcess(
  pid: number,
  opts: {
    comm: string;
    ppid: number;
    start: number;
    sockets?: number[];
    cmdline?: string;
    noFdDir?: boolean;
    state?: string;
  },
) {
  const dir = path.join(root, String(pid));
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'stat'),
    `${pid} (${opts.comm}) ${opts.state ?? 'S'} ${opts.ppid} ${pid} ${pid} 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 ${opts.start} 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n`,
  );
  fs.writeFileSync(path.join(dir, 'status'), `Name:\t${opts.comm}\nUid:\t0\t0\t0\t0\n`);
  fs.writeFileSync(path.join(dir, 'cmdline'), (opts.cmdline ?? opts.comm).split(' ').join('\0'));
  if (opts.noFdDir) return;
  fs.mkdirSync(path.join(dir, 'fd'));
  for (const [i, inode] of (opts.sockets ?? []).entries())
    fs.symlinkSync(`socket:[${inode}]`, path.join(dir, 'fd', String(i + 3)));
  fs.symlinkSync('/dev/null', path.join(dir, 'fd', '0'));
}

fs.mkdirSync(path.join(root, 'net'));
fs.mkdirSync(path.join(root, 'sys/kernel/random'), { recursive: true });
fs.writeFileSync(path.join(root, 'sys/kernel/random/boot_id'), `${bootId}\n`);
fs.writeFileSync(path.join(root, 'stat'), 'cpu 1 2 3\nbtime 1700000000\n');
fs.writeFileSync(
  path.join(root, 'net/tcp'),
  [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    row(0, '0100007F:1F92', '00000000:0000', '0A', 500), // 127.0.0.1:8082, the new app
    row(1, '0100007F:1F91', '00000000:0000', '0A', 600), // 127.0.0.1:8081, shared by a forked server
    row(2, '0100007F:1F93', '00000000:0000', '0A', 700), // 127.0.0.1:8083, owner unreadable
    row(3, '0100007F:1F92', '0100007F:C350', '01', 501), // 8082 ← 127.0.0.1:50000, accepted by the app's child
  ].join('\n'),
);
fs.writeFileSync(
  path.join(root, 'net/tcp6'),
  [
    '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    row(0, '00000000000000000000000000000000:1F92', '00000000000000000000000000000000:0000', '0A', 502), // [::]:8082, a stray
  ].join('\n'),
);
writeProcess(100, { comm: 'java', ppid: 1, start: 5000, sockets: [500], cmdline: 'java -jar app.jar' });
writeProcess(101, { comm: 'java worker', ppid: 100, start: 5001, sockets: [501] });
writeProcess(200, { comm: 'gunicorn', ppid: 1, start: 100, sockets: [600] });
writeProcess(201, { comm: 'gunicorn', ppid: 200, start: 101, sockets: [600] });
writeProcess(300, { comm: 'stray (copy)', ppid: 1, start: 50, sockets: [502] });
writeProcess(400, { comm: 'ghost', ppid: 1, start: 60, noFdDir: true });
// An old process whose PID-wise parent is the app: started before it, so a reused-PID child, not a descendant.
writeProcess(102, { comm: 'older', ppid: 100, start: 10, sockets: [] });
// Exited, not yet reaped by its parent: the PID and start time still read back, but it no longer runs.
writeProcess(103, { comm: 'reaped late', ppid: 1, start: 5002, sockets: [], cmdline: '', state: 'Z' });

const app = { pid: 100, startTime: 5000, bootId };

describe('a fake procfs tree', () => {
  it('reads identity with the wall-clock start from btime', () => {
    const info = readProcessInfo(100, root)!;
    expect(info).toMatchObject({
      pid: 100,
      ppid: 1,
      sid: 100,
      startTime: 5000,
      comm: 'java',
      command: 'java -jar app.jar',
      user: 'root',
      bootId,
    });
    expect(info.startedAt.toISOString()).toBe(new Date(1_700_000_000_000 + 50_000).toISOString());
    expect(readProcessInfo(999, root)).toBeNull();
    expect(isSameProcess({ ...app, startTime: 4999 }, root)).toBe(false);
    expect(isSameProcess({ ...app, bootId: 'other' }, root)).toBe(false);
    expect(isSameProcess(app, root)).toBe(true);
    // A zombie keeps its PID and start time until reaped: it is not the running process any more.
    expect(isSameProcess({ pid: 103, startTime: 5002, bootId }, root)).toBe(false);
  });

  it('lists a tree: descendants started no earlier than the root', () => {
    expect(
      listProcessTree(app, root)
        .map((p) => p.pid)
        .sort(),
    ).toEqual([100, 101]);
    expect(listProcessTree({ ...app, startTime: 1 }, root)).toEqual([]);
  });

  it('keeps every owner of a shared (forked) listening socket', () => {
    const { listeners } = findListeners(8081, root);
    expect(listeners).toHaveLength(1);
    expect(listeners[0]!.owners.map((o) => [o.pid, o.fd])).toEqual([
      [200, 3],
      [201, 3],
    ]);
  });

  it('records a process that vanished mid-scan (stat present, fd dir gone) as a skip, never as "no owner"', () => {
    const { listeners, skipped } = findListeners(8083, root);
    expect(listeners[0]!.owners).toEqual([]);
    expect(skipped).toEqual([
      expect.objectContaining({ pid: 400, reason: 'vanished', path: path.join(root, '400/fd') }),
    ]);
  });

  it('fails ownership when a stray owns an IPv6 listener on the same port, naming it', () => {
    const result = checkTreeOwnsPort(app, 8082, root);
    expect(result.owned).toBe(false);
    expect(result.fullScan).toBe(true);
    expect(result.foreign.map((o) => [o.pid, o.comm])).toEqual([[300, 'stray (copy)']]);
    expect(result.listeners.map((l) => [l.family, l.address])).toEqual([
      [4, '127.0.0.1'],
      [6, '::'],
    ]);
  });

  it('counts an unreadable owner as unknown, which is not ownership', () => {
    const result = checkTreeOwnsPort(app, 8083, root);
    expect(result.owned).toBe(false);
    expect(result.unknown.map((l) => l.inode)).toEqual([700]);
  });

  it('attributes the server side of an established connection, IPv4-mapped client or not', () => {
    const byV4 = findConnectionOwners({ localPort: 8082, remoteAddress: '127.0.0.1', remotePort: 50000 }, root, app);
    expect(byV4.owners.map((o) => o.pid)).toEqual([101]);
    const byMapped = findConnectionOwners(
      { localPort: 8082, remoteAddress: '::ffff:127.0.0.1', remotePort: 50000 },
      root,
    );
    expect(byMapped.owners.map((o) => o.pid)).toEqual([101]);
    expect(
      findConnectionOwners({ localPort: 8082, remoteAddress: '127.0.0.1', remotePort: 1 }, root).socket,
    ).toBeNull();
  });
});

describe('the TIME_WAIT load: rows and the cap beyond which a closed connection leaves none', () => {
  it('reads both from sockstat and the sysctl, and gives null for either missing or malformed', () => {
    const proc = fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-fakeproc-tw-'));
    fs.mkdirSync(path.join(proc, 'net'));
    fs.mkdirSync(path.join(proc, 'sys/net/ipv4'), { recursive: true });
    const sockstat = 'sockets: used 93\nTCP: inuse 12 orphan 0 tw 131072 alloc 20 mem 3\nUDP: inuse 1 mem 0\n';
    fs.writeFileSync(path.join(proc, 'net/sockstat'), sockstat);
    expect(readTimeWaitLoad(proc)).toBeNull();
    fs.writeFileSync(path.join(proc, 'sys/net/ipv4/tcp_max_tw_buckets'), '131072\n');
    expect(readTimeWaitLoad(proc)).toEqual({ rows: 131072, cap: 131072 });
    fs.writeFileSync(path.join(proc, 'net/sockstat'), 'TCP: inuse 12 orphan 0 alloc 20\n');
    expect(readTimeWaitLoad(proc)).toBeNull();
    fs.rmSync(proc, { recursive: true, force: true });
  });

  it("this host's: a cap above zero and a count no greater", () => {
    const load = readTimeWaitLoad();
    expect(load).not.toBeNull();
    expect(load!.cap).toBeGreaterThan(0);
    expect(load!.rows).toBeLessThanOrEqual(load!.cap);
  });
});
