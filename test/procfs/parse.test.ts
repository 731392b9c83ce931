import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readListenSockets } from '../../src/core/procfs/listeners.ts';
import { decodeAddress, parseNetTcp, readTcpSockets, readTcpText } from '../../src/core/procfs/net-tcp.ts';
import { parseCmdline, parseStat, parseStatusUid } from '../../src/core/procfs/stat.ts';
import { toHookError } from '../../src/runner/verdict.ts';

const header = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
const header6 =
  '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';

describe('parseNetTcp', () => {
  it('reads IPv4 listeners and established sockets', () => {
    const text = `${header}   0: 0100007F:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4711 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F91 0100007F:D431 01 00000000:00000000 00:00000000 00000000  1000        0 4712 1 0000000000000000 20 4 30 10 -1
   2: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 99 1 0000000000000000 100 0 0 10 0\n`;
    const sockets = parseNetTcp(text, 4, '/proc/net/tcp');
    expect(sockets).toHaveLength(3);
    expect(sockets[0]).toEqual({
      family: 4,
      localAddress: '127.0.0.1',
      localPort: 8081,
      remoteAddress: '0.0.0.0',
      remotePort: 0,
      state: 0x0a,
      uid: 0,
      inode: 4711,
      timerJiffies: 0,
    });
    expect(sockets[1]).toMatchObject({ remoteAddress: '127.0.0.1', remotePort: 54321, state: 1, uid: 1000 });
    expect(sockets[2]).toMatchObject({ localAddress: '0.0.0.0', localPort: 80 });
  });

  it('reads IPv6: ::, ::1, IPv4-mapped and a global address', () => {
    const text = `${header6}   0: 00000000000000000000000000000000:1F92 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 10 1 0000000000000000 100 0 0 10 0
   1: 00000000000000000000000001000000:1F92 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 11 1 0000000000000000 100 0 0 10 0
   2: 0000000000000000FFFF00000100007F:1F92 0000000000000000FFFF00000100007F:C000 01 00000000:00000000 00:00000000 00000000     0        0 12 1 0000000000000000 20 4 30 10 -1
   3: B80D0120000000000000000001000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 13 1 0000000000000000 100 0 0 10 0\n`;
    const addresses = parseNetTcp(text, 6, '/proc/net/tcp6').map((s) => s.localAddress);
    expect(addresses).toEqual(['::', '::1', '::ffff:127.0.0.1', '2001:db8::1']);
    expect(parseNetTcp(text, 6, 'tcp6')[2]).toMatchObject({ remoteAddress: '::ffff:127.0.0.1', remotePort: 49152 });
  });

  it('names the file and line of a malformed entry', () => {
    const text = `${header}   0: 0100007F:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4711 1\n   1: garbage\n`;
    expect(() => parseNetTcp(text, 4, '/proc/net/tcp')).toThrow('/proc/net/tcp line 3: malformed socket entry');
  });

  it('decodes addresses on their own', () => {
    expect(decodeAddress('0100007F', 4)).toBe('127.0.0.1');
    expect(decodeAddress('00000000000000000000000000000000', 6)).toBe('::');
  });
});

describe("reading a busy host's table (150,000 TIME_WAIT rows)", () => {
  // The kernel's own layout: a row per socket, listeners first. Written to a scratch /proc root.
  function busyRoot(): string {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-busy-proc-'));
    fs.mkdirSync(path.join(root, 'net'));
    const rows = [header.trimEnd()];
    rows.push(
      `   0: 0100007F:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4711 1 0 100 0 0 10 0`,
    );
    for (let i = 1; i <= 150_000; i++) {
      const client = (40_000 + (i % 20_000)).toString(16).toUpperCase().padStart(4, '0');
      rows.push(
        `${String(i).padStart(6)}: 0100007F:0050 0100007F:${client} 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0`,
      );
    }
    rows.push(
      `150001: 0100007F:1F91 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 4712 1 0 20 4 30 10 -1`,
    );
    fs.writeFileSync(path.join(root, 'net', 'tcp'), `${rows.join('\n')}\n`);
    return root;
  }

  it("decodes every row without overflowing the stack, and a port's rows alone when asked", async () => {
    const root = busyRoot();
    try {
      expect(readTcpSockets(root)).toHaveLength(150_002);
      expect(readListenSockets(8081, root).map((s) => s.inode)).toEqual([4711]);
      expect(readTcpSockets(root, { markers: [':1F91 '] }).map((s) => s.inode)).toEqual([4711, 4712]);
      const text = await readTcpText(root, { markers: [':1F91 ', ':0050 '], keep: (line) => !line.includes(' 06 ') });
      expect(text.tcp.split('\n')).toHaveLength(3);
      expect(text.tcp6).toBe('');
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('parseStat', () => {
  it('reads the fields after the last ")" even when the name holds spaces and parentheses', () => {
    const text =
      '4242 (my (weird) app) S 1 4242 4242 0 -1 4194560 500 0 0 0 10 5 0 0 20 0 3 0 987654 123456 789 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n';
    expect(parseStat(text)).toEqual({
      comm: 'my (weird) app',
      state: 'S',
      ppid: 1,
      pgid: 4242,
      sid: 4242,
      startTime: 987654,
    });
  });

  it('rejects a truncated line', () => {
    expect(() => parseStat('12 (x) S 1', '/proc/12/stat')).toThrow('/proc/12/stat: malformed stat line');
  });

  it('reports malformed /proc data with its own code, not as a portproof bug', () => {
    let thrown: unknown;
    try {
      parseStat('12 (x) S 1', '/proc/12/stat');
    } catch (error) {
      thrown = error;
    }
    const verdict = toHookError(thrown);
    expect(verdict.code).toBe('PROC_MALFORMED');
    expect(verdict.message).toContain('/proc/12/stat: malformed stat line');
    expect(verdict.message).not.toContain('portproof bug');
  });

  it('reads the real uid and the command line', () => {
    expect(parseStatusUid('Name:\tjava\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\n')).toBe(1000);
    expect(parseStatusUid('Name:\tx\n')).toBeNull();
    expect(parseCmdline('java\0-jar\0app.jar\0')).toBe('java -jar app.jar');
    expect(parseCmdline('')).toBe('');
  });
});
