import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkTreeOwnsPort,
  findConnectionOwners,
  findListeners,
  readListeningTcpSockets,
  readProcessInfo,
} from '../../src/core/procfs/index.ts';
import { TcpListen, TcpSynRecv } from '../../src/core/procfs/net-tcp.ts';
import { waitForPort } from '../../src/lab/net.ts';
import { findFreePort } from '../../src/lab/ports.ts';
import { type AppProcess, stopAll } from '../../src/lab/processes.ts';
import { startApp, startReuseportApp } from '../support/app.ts';

afterAll(stopAll);

/** `ss -ltnpH` as (address:port → pids): the independent witness the live results are checked against. */
function ssListeners(port: number): Map<string, number[]> {
  let out: string;
  try {
    out = execFileSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8' });
  } catch (error) {
    throw new Error(
      `ss is needed to cross-check /proc: install it with "apt-get install -y iproute2" (${(error as Error).message})`,
    );
  }
  const result = new Map<string, number[]>();
  for (const line of out.trim().split('\n').filter(Boolean)) {
    const local = line
      .trim()
      .split(/\s+/)[3]!
      .replace(/^\[|\](?=:)/g, '')
      .replace(/^\*(?=:)/, '::'); // ss prints a dual-stack [::] listener as *

    result.set(
      local,
      [...line.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1])).sort((a, b) => a - b),
    );
  }
  return result;
}

function procListeners(port: number): Map<string, number[]> {
  return new Map(
    findListeners(port).listeners.map((l) => [
      `${l.address.replace(/^::ffff:/, '')}:${l.port}`,
      [...new Set(l.owners.map((o) => o.pid))].sort((a, b) => a - b),
    ]),
  );
}

function identity(app: AppProcess) {
  return readProcessInfo(app.pid)!;
}

/** A python server that listens, then forks: parent and child hold one listening socket. */
function startForkedServer(port: number): AppProcess {
  const code = `import os, socket, time\ns = socket.socket()\ns.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\ns.bind(("127.0.0.1", ${port}))\ns.listen()\nos.fork()\ntime.sleep(60)\n`;
  const child = spawn('python3', ['-c', code], { detached: true, stdio: 'ignore' });
  return { pid: child.pid!, child } as unknown as AppProcess;
}

describe('live listeners, cross-checked with ss', () => {
  it('a listener on 127.0.0.1 and one on :: are both found with their owner', async () => {
    const [v4, v6] = [await findFreePort(), await findFreePort()];
    const a = startApp([`--port=${v4}`]);
    const b = startApp([`--port=${v6}`, '--host=::']);
    await waitForPort(v4, 5000);
    await waitForPort(v6, 5000, '::1');
    expect(procListeners(v4)).toEqual(new Map([[`127.0.0.1:${v4}`, [a.pid]]]));
    expect(procListeners(v4)).toEqual(ssListeners(v4));
    const six = findListeners(v6).listeners;
    expect(six.map((l) => [l.family, l.address, l.owners[0]?.pid])).toEqual([[6, '::', b.pid]]);
    expect(ssListeners(v6)).toEqual(new Map([[`::${':'}${v6}`, [b.pid]]]));
  });

  it('two processes sharing a port with SO_REUSEPORT: both named, and neither tree owns the port alone', async () => {
    const port = await findFreePort();
    const first = startReuseportApp([`--port=${port}`]);
    await waitForPort(port, 5000);
    const second = startReuseportApp([`--port=${port}`]);
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && findListeners(port).listeners.length < 2)
      await new Promise((r) => setTimeout(r, 25));
    const owners = findListeners(port)
      .listeners.flatMap((l) => l.owners.map((o) => o.pid))
      .sort((a, b) => a - b);
    expect(owners).toEqual([first.pid, second.pid].sort((a, b) => a - b));
    expect(ssListeners(port).get(`127.0.0.1:${port}`)).toBeDefined();
    const ownership = checkTreeOwnsPort(identity(second), port);
    expect(ownership.owned).toBe(false);
    expect(ownership.foreign.map((o) => o.pid)).toEqual([first.pid]);
  });

  it('a forked server sharing one socket: both PIDs, like ss', async () => {
    const port = await findFreePort();
    const server = startForkedServer(port);
    await waitForPort(port, 5000);
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && (findListeners(port).listeners[0]?.owners.length ?? 0) < 2)
      await new Promise((r) => setTimeout(r, 25));
    const [listener] = findListeners(port).listeners;
    expect(listener!.owners).toHaveLength(2);
    expect(listener!.owners.map((o) => o.pid)).toContain(server.pid);
    expect(procListeners(port)).toEqual(ssListeners(port));
    process.kill(-server.pid, 'SIGKILL');
  });

  it('a listener in a child of the started process is attributed to its tree (fast path), with the server side of a connection', async () => {
    const port = await findFreePort();
    const parent = startApp([`--port=${port}`, '--fork']);
    await waitForPort(port, 5000);
    const ownership = checkTreeOwnsPort(identity(parent), port);
    expect(ownership.owned).toBe(true);
    expect(ownership.fullScan).toBe(false);
    const [owner] = ownership.listeners[0]!.owners;
    expect(owner!.ppid).toBe(parent.pid);
    const socket = net.connect({ port, host: '127.0.0.1' });
    await new Promise((resolve) => socket.once('connect', resolve));
    let found = findConnectionOwners(
      { localPort: port, remoteAddress: socket.localAddress!, remotePort: socket.localPort! },
      undefined,
      identity(parent),
    );
    for (let i = 0; i < 40 && found.owners.length === 0; i++) {
      // The server accepts asynchronously: until it has, the socket sits in the accept queue with no fd.
      await new Promise((r) => setTimeout(r, 25));
      found = findConnectionOwners(
        { localPort: port, remoteAddress: socket.localAddress!, remotePort: socket.localPort! },
        undefined,
        identity(parent),
      );
    }
    expect(found.owners.map((o) => o.pid)).toEqual([owner!.pid]);
    socket.destroy();
  });

  it('as non-root, other users\' fds are skipped with the reason "permission", never counted as no owner', async () => {
    const port = await findFreePort();
    const app = startApp([`--port=${port}`]);
    await waitForPort(port, 5000);
    const script = `import { findListeners } from ${JSON.stringify(path.resolve('src/core/procfs/index.ts'))}; const r = findListeners(${port}); console.log(JSON.stringify({ owners: r.listeners.map((l) => l.owners.length), skips: r.skipped.filter((s) => s.pid === ${app.pid}).map((s) => s.reason) }));`;
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      uid: 65534,
      gid: 65534,
      encoding: 'utf8',
      cwd: process.cwd(),
    });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({ owners: [0], skips: ['permission'] });
  });
});

describe("the kernel's table order, which the listener reads rely on", () => {
  it('listeners come before every other row: the read that stops at the first other row misses none', async () => {
    // Connections in both families, so both tables hold rows after their listeners.
    const port = await findFreePort();
    const app = startApp([`--port=${port}`, '--host=::']);
    await waitForPort(port, 5000);
    const open = [net.connect({ port, host: '127.0.0.1' }), net.connect({ port, host: '::1' })];
    await Promise.all(open.map((socket) => new Promise((resolve) => socket.once('connect', resolve))));
    try {
      // One read of each table, in the kernel's order: once a row of the established hash is seen, no listener follows.
      for (const name of ['tcp', 'tcp6']) {
        const states = fs
          .readFileSync(`/proc/net/${name}`, 'latin1')
          .split('\n')
          .slice(1)
          .filter((line) => line.trim() !== '')
          .map((line) => Number.parseInt(line.trim().split(/\s+/)[3]!, 16));
        const firstOther = states.findIndex((state) => state !== TcpListen && state !== TcpSynRecv);
        expect(firstOther, `/proc/net/${name}`).toBeGreaterThan(-1);
        expect(states.slice(firstOther).includes(TcpListen), `a listener after row ${firstOther} of ${name}`).toBe(
          false,
        );
      }
      // And the read that stops there finds the listener.
      expect(readListeningTcpSockets('/proc').some((s) => s.localPort === port && s.family === 6)).toBe(true);
    } finally {
      for (const socket of open) socket.destroy();
      app.child.kill();
    }
  });
});
