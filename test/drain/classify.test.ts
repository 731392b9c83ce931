import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { classifyConnection } from '../../src/core/drain/classify.ts';
import { describeDrain } from '../../src/core/drain/describe-drain.ts';
import type { DrainReport } from '../../src/core/drain/drain-port.ts';
import { parseSs, type TcpConnection } from '../../src/core/drain/parse-ss.ts';
import { DrainTally } from '../../src/core/drain/tally.ts';

// The drain's decisions as pure functions over captured `ss -tinpHO` text: the fixture was taken from the fixture app
// on port 18926 serving an upload (:42174), an idle keep-alive (:42154), a slow download (:42162), an event stream
// (:42180) and a websocket (:42194), with the client ends of two of them renamed to nginx.
const canned = fs.readFileSync(path.join(import.meta.dirname, 'fixtures/ss-tinpHO.txt'), 'utf8');

function byPeer(connections: TcpConnection[], peerPort: number): TcpConnection {
  return connections.find((c) => c.localPort === 18926 && c.peerPort === peerPort)!;
}

describe('parseSs', () => {
  it('reads queues, tcp_info and owners from each line, IPv4 and IPv6', () => {
    const all = parseSs(canned);
    expect(all).toHaveLength(8);
    expect(byPeer(all, 42162)).toMatchObject({
      recvQ: 0,
      sendQ: 820,
      lastSendMs: 8,
      lastRecvMs: 3092,
      bytesSent: 24761,
      bytesReceived: 82,
      unacked: 1,
      owners: [{ name: 'node', pid: 11675 }],
    });
    expect(byPeer(all, 42174)).toMatchObject({ bytesSent: 0, bytesReceived: 29826, lastSendMs: 3052 });
    expect(all.find((c) => c.local === '127.0.0.1:42180')).toMatchObject({ recvQ: 14, owners: [{ name: 'nginx' }] });
    expect(byPeer(all, 42200)).toMatchObject({ local: '[::ffff:127.0.0.1]:18926', localPort: 18926 });
  });

  it('joins the details an ss without -O prints on the next line, and skips what is not a connection', () => {
    const [first] = canned.split('\n');
    const cut = first!.indexOf(' bbr ');
    const twoLines = `Recv-Q Send-Q Local Peer\nESTAB ${first!.slice(0, cut)}\n\t${first!.slice(cut + 1)}\n\n`;
    expect(parseSs(twoLines)).toEqual([parseSs(first!)[0]]);
  });
});

describe('classifyConnection', () => {
  const all = parseSs(canned);
  it.each([
    [42174, 'request', 'an upload: data came in after the last data went out'],
    [42154, 'idle', 'a keep-alive: answered, quiet for 3 s'],
    [42162, 'stream', 'a download 3 s after its request, with bytes unacknowledged'],
    [42180, 'stream', 'an event stream: an event 12 ms ago, its request 3 s ago'],
    [42194, 'request', 'a websocket at one look: data both ways, the last in 1 s (a sample alone calls it a request)'],
    [42200, 'idle', 'opened, and nothing asked on it'],
  ])('port %i is %s (%s)', (peer, expected) => {
    expect(classifyConnection(byPeer(all, peer))).toBe(expected);
  });
});

describe('DrainTally', () => {
  const look = (overrides: Partial<TcpConnection>): TcpConnection => ({
    ...byPeer(parseSs(canned), 42194),
    ...overrides,
  });

  it('counts a request that finishes, and calls data both ways for longer than a request takes a two-way stream', () => {
    const tally = new DrainTally();
    const upload = byPeer(parseSs(canned), 42174);
    tally.observe([upload, look({})], 0);
    expect(tally.busyCount()).toBe(2);
    // The upload is answered and closed; the websocket keeps trading frames.
    tally.observe([look({ bytesSent: 900, bytesReceived: 400, lastSendMs: 100, lastRecvMs: 600 })], 4000);
    expect(tally.finished).toEqual({ requests: 1, streams: 0 });
    expect(tally.listBusy(4000)).toEqual([{ kind: 'two-way stream', openMs: 4000, peer: '127.0.0.1:42194' }]);
  });

  it('dates a stream out from its request, and lets it go idle when the answer ends', () => {
    const tally = new DrainTally();
    const events = byPeer(parseSs(canned), 42180);
    tally.observe([events], 10_000);
    expect(tally.listBusy(10_000)).toEqual([{ kind: 'stream', openMs: 3036, peer: '127.0.0.1:42180' }]);
    tally.observe([{ ...events, lastSendMs: 2000, lastRecvMs: 5000 }], 12_000);
    expect(tally.busyCount()).toBe(0);
    expect(tally.idle).toBe(1);
    expect(tally.finished).toEqual({ requests: 0, streams: 1 });
  });
});

describe('describeDrain', () => {
  const report: DrainReport = {
    port: 8081,
    classified: true,
    drainMs: 30_000,
    waitedMs: 1800,
    endedBy: 'quiet',
    finished: { requests: 2, streams: 0 },
    cut: [],
    idle: 3,
    viaNginx: 2,
    viaOldNginx: 2,
    firstLookMs: 40,
  };

  it('says what finished and that nothing was cut', () => {
    expect(describeDrain(report)).toBe('after draining 1.8 s: 2 requests finished; cut: nothing');
    expect(describeDrain({ ...report, waitedMs: 0, finished: { requests: 0, streams: 0 } })).toBe(
      'nothing in flight; cut: nothing',
    );
  });

  it('names every cut stream with its age, and who ended the drain', () => {
    const cut = [
      { kind: 'stream' as const, openMs: 41_000, peer: 'a', via: 'old nginx worker' as const },
      { kind: 'two-way stream' as const, openMs: 30_100, peer: 'b' },
    ];
    expect(describeDrain({ ...report, waitedMs: 30_000, endedBy: 'drain', cut })).toBe(
      'after draining 30.0 s: 2 requests finished; stop.drain (30.0 s) ran out; ' +
        'cut: 1 stream (open 41.0 s), 1 two-way stream (open 30.1 s) (1 through old nginx workers)',
    );
    expect(describeDrain({ ...report, endedBy: 'deadline', cut })).toContain(
      "the hook's deadline ended the drain before stop.drain (30.0 s)",
    );
  });

  it('says when the drain is off', () => {
    const cut = [{ kind: 'request' as const, openMs: 900, peer: 'a' }];
    expect(describeDrain({ ...report, drainMs: 0, waitedMs: 30, endedBy: 'drain', cut })).toBe(
      'not drained (stop.drain: 0s); cut: 1 request in flight (open 900 ms)',
    );
  });

  it('stays short however many connections were cut', () => {
    const many = Array.from({ length: 5000 }, (_, i) => ({ kind: 'request' as const, openMs: i, peer: `p${i}` }));
    const text = describeDrain({ ...report, endedBy: 'drain', cut: many });
    expect(text).toContain('cut: 5000 requests in flight (open 0 ms, 1 ms, 2 ms, …)');
    expect(text.length).toBeLessThan(300);
  });

  it('says when the connections could not be classified', () => {
    expect(describeDrain({ ...report, classified: false, notClassified: 'ss not found: install iproute2' })).toBe(
      'connections not classified (ss not found: install iproute2): what was cut is unknown',
    );
  });
});
