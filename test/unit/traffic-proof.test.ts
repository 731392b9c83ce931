import { describe, expect, it } from 'vitest';
import { findDirectRoutes, refuseDirectRoutes } from '../../src/core/nginx/direct-routes.ts';
import { parseNginxDump } from '../../src/core/nginx/loaded-files.ts';
import { parseNetTcp } from '../../src/core/procfs/net-tcp.ts';
import {
  listConnectionsTo,
  compareRunningConfig,
  decodeCapture,
  findForeignAcceptors,
  findStrayUpstreams,
  joinWorkerUpstreams,
  judgeAcceptor,
  judgeMaster,
  judgeProbe,
  judgeUnseen,
  type SampleText,
} from '../../src/core/nginx/proof-stages.ts';

// The proof's decisions over canned /proc and nginx -T text: no nginx, no root. Each case is a situation from
// issue 24, laid out as /proc would show it during one probe, and what the proof must conclude.

const Header = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
const [Established, SynSent, TimeWait] = ['01', '02', '06'];

/** The kernel's hex for an address:port (IPv4 one little-endian word, IPv6 four). */
function hex(endpoint: string): string {
  const at = endpoint.lastIndexOf(':');
  const [address, port] = [endpoint.slice(0, at).replace(/^\[|\]$/g, ''), Number(endpoint.slice(at + 1))];
  const portHex = port.toString(16).toUpperCase().padStart(4, '0');
  if (!address.includes(':')) {
    const bytes = address.split('.').map(Number).reverse();
    return `${bytes
      .map((b) => b.toString(16).padStart(2, '0'))
      .join('')
      .toUpperCase()}:${portHex}`;
  }
  // Only ::1 and :: are needed here: word 3 holds the 1 in its last byte, little-endian.
  const loopback = address === '::1';
  return `${'0'.repeat(24)}${loopback ? '01000000' : '00000000'}:${portHex}`;
}

/** One row of /proc/net/tcp(6). */
function row(local: string, remote: string, state: string, inode: number): string {
  return `   0: ${hex(local)} ${hex(remote)} ${state} 00000000:00000000 00:00000000 00000000     0        0 ${inode} 1 0000000000000000 20 4 30 10 -1`;
}

/** A sample from rows (the IPv6 ones told by "[") and fd links by pid. */
function sample(rows: string[][], fds: Record<number, number[]>): SampleText {
  const v4 = rows.filter((r) => !r[0]!.startsWith('['));
  const v6 = rows.filter((r) => r[0]!.startsWith('['));
  const text = (list: string[][]) => [Header, ...list.map(([l, r, s, i]) => row(l!, r!, s!, Number(i)))].join('\n');
  const links = new Map(Object.entries(fds).map(([pid, inodes]) => [Number(pid), inodes.map((i) => `socket:[${i}]`)]));
  return { tcp: text(v4), tcp6: text(v6), fds: links };
}

// The cast: nginx worker 100 (started by the reload), old worker 90, the new app's tree 200 on 8082, the old app
// 150 on 8081, a scraper 300, an unrelated program 301.
const [Worker, OldWorker, Tree, OldApp, Scraper, Stranger] = [100, 90, 200, 150, 300, 301];
const Ports = [8082, 8081];
const tree = new Set([Tree]);

/** The new worker's keep-alive connection to the new app, both ends held. */
const keptToNew = [
  ['127.0.0.1:40000', '127.0.0.1:8082', Established, '501'],
  ['127.0.0.1:8082', '127.0.0.1:40000', Established, '601'],
];

const cases: { name: string; samples: SampleText[]; verdict: string }[] = [
  {
    name: 'keep-alive: the worker holds a connection whose other end the tree holds',
    samples: [sample(keptToNew, { [Worker]: [501], [Tree]: [601] })],
    verdict: `reached 8082 owner ${Tree}`,
  },
  {
    name: 'no keep-alive, seen in flight: both ends open then, closed by the last look (accepted on the tree’s port)',
    samples: [
      sample(
        [
          ['127.0.0.1:40002', '127.0.0.1:8082', Established, '502'],
          ['127.0.0.1:8082', '127.0.0.1:40002', Established, '602'],
        ],
        { [Worker]: [502] },
      ),
      sample([], { [Worker]: [], [Tree]: [] }),
    ],
    verdict: 'reached 8082 owner none',
  },
  {
    name: 'no keep-alive, closed before any sample: not observed, never reached',
    samples: [sample([['127.0.0.1:8082', '127.0.0.1:40003', TimeWait, '0']], { [Worker]: [], [Tree]: [] })],
    verdict: 'not-observed',
  },
  {
    name: 'a connection still being made when seen and gone after: not observed',
    samples: [sample([['127.0.0.1:40004', '127.0.0.1:8082', SynSent, '504']], { [Worker]: [504] })],
    verdict: 'not-observed',
  },
  {
    name: 'a quiet route to the old port that this request used: the worker connects to 8081',
    samples: [
      sample(
        [
          ['127.0.0.1:40005', '127.0.0.1:8081', Established, '505'],
          ['127.0.0.1:8081', '127.0.0.1:40005', Established, '605'],
        ],
        { [Worker]: [505], [OldApp]: [605] },
      ),
    ],
    verdict: 'elsewhere to port 8081',
  },
  {
    name: 'one open stream keeps an old worker on the old port: nothing forgiven, nothing blamed; the probe is judged',
    samples: [
      sample(
        [
          ...keptToNew,
          ['127.0.0.1:39000', '127.0.0.1:8081', Established, '401'],
          ['127.0.0.1:8081', '127.0.0.1:39000', Established, '402'],
        ],
        { [Worker]: [501], [OldWorker]: [401], [Tree]: [601], [OldApp]: [402] },
      ),
    ],
    verdict: `reached 8082 owner ${Tree}`,
  },
  {
    name: 'a scraper polls 127.0.0.1:8081 during the probe: not nginx’s connection',
    samples: [
      sample(
        [
          ...keptToNew,
          ['127.0.0.1:41000', '127.0.0.1:8081', Established, '701'],
          ['127.0.0.1:8081', '127.0.0.1:41000', Established, '702'],
        ],
        { [Worker]: [501], [Scraper]: [701], [OldApp]: [702], [Tree]: [601] },
      ),
    ],
    verdict: `reached 8082 owner ${Tree}`,
  },
  {
    name: 'an unrelated socket on [::1]:8081: not nginx’s connection',
    samples: [
      sample(
        [
          ...keptToNew,
          ['[::1]:42000', '[::1]:8081', Established, '801'],
          ['[::1]:8081', '[::1]:42000', Established, '802'],
        ],
        { [Worker]: [501], [Stranger]: [801, 802], [Tree]: [601] },
      ),
    ],
    verdict: `reached 8082 owner ${Tree}`,
  },
  {
    name: 'the worker connects to the new port on another host (open in two samples, no other end here): elsewhere',
    samples: [
      sample([['10.0.0.5:40006', '10.0.0.9:8082', Established, '506']], { [Worker]: [506] }),
      sample([['10.0.0.5:40006', '10.0.0.9:8082', Established, '506']], { [Worker]: [506] }),
    ],
    verdict: 'elsewhere to an address whose other end is not a socket on this host',
  },
  {
    name: 'to 127.0.0.1:8082, open in two samples whose walks both skipped its other end: not observed (it is here)',
    samples: [
      sample([['127.0.0.1:40010', '127.0.0.1:8082', Established, '510']], { [Worker]: [510] }),
      sample([['127.0.0.1:40010', '127.0.0.1:8082', Established, '510']], { [Worker]: [510] }),
    ],
    verdict: 'not-observed',
  },
  {
    name: 'to another host, listed twice by one walk (a resumed read): one sample, not observed',
    samples: [
      sample(
        [
          ['10.0.0.5:40011', '10.0.0.9:8082', Established, '511'],
          ['10.0.0.5:40011', '10.0.0.9:8082', Established, '511'],
        ],
        { [Worker]: [511] },
      ),
    ],
    verdict: 'not-observed',
  },
  {
    name: 'open in one sample, its other end passed by the walk after it closed: not observed, not blamed',
    samples: [sample([['127.0.0.1:40009', '127.0.0.1:8082', Established, '509']], { [Worker]: [509] })],
    verdict: 'not-observed',
  },
  {
    name: 'the other end is held by a process outside the tree',
    samples: [
      sample(
        [
          ['127.0.0.1:40007', '127.0.0.1:8082', Established, '507'],
          ['127.0.0.1:8082', '127.0.0.1:40007', Established, '607'],
        ],
        { [Worker]: [507], [Stranger]: [607] },
      ),
    ],
    verdict: `elsewhere whose other end PID ${Stranger} holds, not the new tree`,
  },
  {
    name: 'an IPv6 upstream (the app on [::1]:8082), kept alive',
    samples: [
      sample(
        [
          ['[::1]:40008', '[::1]:8082', Established, '508'],
          ['[::1]:8082', '[::1]:40008', Established, '608'],
        ],
        { [Worker]: [508], [Tree]: [608] },
      ),
    ],
    verdict: `reached 8082 owner ${Tree}`,
  },
];

describe('each request through nginx is judged by the owners of both ends of its upstream connection', () => {
  for (const c of cases) {
    it(c.name, () => {
      const links = joinWorkerUpstreams(decodeCapture(c.samples), Worker, Ports);
      const judged = judgeProbe(links, 8082, tree);
      const said =
        judged.kind === 'reached'
          ? `reached ${judged.link.appPort} owner ${judged.owner ?? 'none'}`
          : judged.kind === 'elsewhere'
            ? `elsewhere ${judged.why}`
            : judged.kind;
      expect(said).toBe(c.verdict);
    });
  }

  it('to one of this host’s own addresses, no other end in two samples: a skipped row, not observed', () => {
    const open = sample([['10.0.0.5:40006', '10.0.0.9:8082', Established, '506']], { [Worker]: [506] });
    const capture = decodeCapture([open, open]);
    expect(judgeProbe(joinWorkerUpstreams(capture, Worker, Ports), 8082, tree).kind).toBe('elsewhere');
    const onHost = joinWorkerUpstreams(capture, Worker, Ports, new Set(['10.0.0.9']));
    expect(judgeProbe(onHost, 8082, tree).kind).toBe('not-observed');
  });

  it('a worker the reload started holding a connection to the old port is a stray; an old worker’s stream is not', () => {
    const capture = decodeCapture([
      sample(
        [
          ['127.0.0.1:39000', '127.0.0.1:8081', Established, '401'],
          ['127.0.0.1:8081', '127.0.0.1:39000', Established, '402'],
        ],
        { [OldWorker]: [401], [Worker]: [], [OldApp]: [402] },
      ),
    ]);
    expect(findStrayUpstreams(capture, new Set([Worker]), [8081])).toEqual([]);
    const stray = findStrayUpstreams(capture, new Set([OldWorker]), [8081]);
    expect(stray.map((s) => [s.pid, s.link.tuple])).toEqual([[OldWorker, '127.0.0.1:39000 → 127.0.0.1:8081']]);
  });
});

describe('who accepted the probe’s connection to nginx.url', () => {
  const end = { serverPort: 80, clientAddress: '127.0.0.1', clientPort: 50000 };
  const accepted = [
    ['127.0.0.1:50000', '127.0.0.1:80', Established, '901'],
    ['127.0.0.1:80', '127.0.0.1:50000', Established, '902'],
  ];
  const workers = { fresh: new Set([Worker]), old: new Set([OldWorker]) };
  const judge = (fds: Record<number, number[]>, rows = accepted) =>
    judgeAcceptor(decodeCapture([sample(rows, fds)]), end, workers);

  it('a worker of the configured master, started by the reload', () => {
    expect(judge({ [Worker]: [902] })).toEqual({ kind: 'worker', pid: Worker, address: '127.0.0.1' });
  });
  it('a worker of the old config', () => {
    expect(judge({ [OldWorker]: [902] })).toEqual({ kind: 'old-worker', pid: OldWorker });
  });
  it('two masters, or nginx.pidFile naming another nginx: a process that is not a worker of the configured master', () => {
    expect(judge({ 400: [902] })).toEqual({ kind: 'stranger', pids: [400], inode: 902 });
  });
  it('nothing on this host holds the server side (nginx.url on another host): the only "not proved"', () => {
    expect(judge({}, [accepted[0]!])).toEqual({ kind: 'not-on-host' });
  });
  it('a second master’s workers share the listening socket (binary upgrade): named by the listener’s owners', () => {
    const listeners = [
      { address: '0.0.0.0', port: 80, owners: [10, Worker, 20, 21] },
      { address: '127.0.0.2', port: 80, owners: [30] },
    ];
    expect(findForeignAcceptors(listeners, '127.0.0.1', new Set([10, Worker]))).toEqual([20, 21]);
    expect(findForeignAcceptors(listeners.slice(0, 1), '127.0.0.1', new Set([10, Worker, 20, 21]))).toEqual([]);
  });
});

describe('the master nginx.pidFile names', () => {
  it('must be nginx', () => {
    expect(judgeMaster({ pid: 7, comm: 'nginx', command: 'nginx: master process /usr/sbin/nginx' })).toBeNull();
    expect(judgeMaster({ pid: 7, comm: 'bash', command: 'bash -c sleep 1000' })).toBe(
      'PID 7 is not an nginx master: it runs "bash -c sleep 1000" (bash)',
    );
  });
  it('must run the config file nginx.test checks, when both name one', () => {
    const title = 'nginx: master process /usr/sbin/nginx -p /srv/ngx -c conf/nginx.conf';
    expect(compareRunningConfig(title, ['nginx', '-p', '/srv/ngx', '-c', '/srv/ngx/conf/nginx.conf', '-t'])).toBeNull();
    expect(compareRunningConfig(title, ['nginx', '-c', '/etc/nginx/nginx.conf', '-t'])).toBe(
      'the running nginx master loads /srv/ngx/conf/nginx.conf, but nginx.test checks /etc/nginx/nginx.conf',
    );
    expect(compareRunningConfig('nginx: master process /usr/sbin/nginx', ['nginx', '-t'])).toBeNull();
    // A wrapped test command: the shell's -c is not nginx's; the words after the nginx program are compared.
    const wrapped = ['/bin/sh', '-c', 'sleep 30; exec "$@"', 'sh', '/usr/sbin/nginx', '-p', '/srv/ngx'];
    expect(compareRunningConfig(title, [...wrapped, '-c', '/srv/ngx/conf/nginx.conf', '-t'])).toBeNull();
    expect(compareRunningConfig(title, [...wrapped, '-c', '/etc/nginx/nginx.conf', '-t'])).toMatch(/but nginx.test/);
    expect(compareRunningConfig(title, ['/usr/local/bin/check-nginx-config'])).toBeNull();
  });
});

describe('routes in nginx -T to a configured port by number, before any traffic', () => {
  const dump = `# configuration file /etc/nginx/nginx.conf:
http {
  upstream legacy { server 127.0.0.1:8081 max_fails=0; }
  upstream cache { server 127.0.0.1:11211; }
  include /etc/nginx/conf.d/*.conf;
}

# configuration file /etc/nginx/conf.d/site.conf:
server {
  listen 80;
  location / { include /etc/nginx/conf.d/service-url.inc; proxy_pass $service_url; }
  location /api/ { proxy_pass http://127.0.0.1:8081; }
  location /php { fastcgi_pass [::1]:8082; }
  location /m { memcached_pass 127.0.0.1:8081; }
  location /other { proxy_pass http://127.0.0.1:80812; }
}

# configuration file /etc/nginx/conf.d/service-url.inc:
set $service_url http://127.0.0.1:8081;
`;
  const files = parseNginxDump(dump);
  const skip = new Set(['/etc/nginx/conf.d/service-url.inc']);

  it('finds each, in any block, and never the include the switch rewrites', () => {
    const found = findDirectRoutes(files, [8081, 8082], skip).map((r) => `${r.port} ${r.block} ${r.file}:${r.line}`);
    expect(found).toEqual([
      '8081 upstream legacy /etc/nginx/nginx.conf:2',
      '8081 location /api/ /etc/nginx/conf.d/site.conf:4',
      '8082 location /php /etc/nginx/conf.d/site.conf:5',
      '8081 location /m /etc/nginx/conf.d/site.conf:6',
    ]);
  });
  it('refuses the switch naming file:line and the directive; none: no refusal', () => {
    const refusal = refuseDirectRoutes(findDirectRoutes(files, [8081, 8082], skip), 8082);
    expect(refusal).toContain(
      'port 8081: location /api/ (/etc/nginx/conf.d/site.conf line 4) proxies there directly: "proxy_pass http://127.0.0.1:8081;"',
    );
    expect(refusal).toContain('and 1 more; nginx was not switched to port 8082');
    expect(refuseDirectRoutes(findDirectRoutes(files, [9090], skip), 9090)).toBeNull();
  });
});

describe('connections to the port that closed before any sample', () => {
  const header = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
  const row = (n: number, local: string, remote: string, state: string, inode: number) =>
    `   ${n}: ${local} ${remote} ${state} 00000000:00000000 03:00001770 00000000     0        0 ${inode} 1 0000000000000000`;
  it('a TIME_WAIT row is a trace of a forwarded request; the listener and other ports are not', () => {
    const text = [
      header,
      row(0, '0100007F:1F92', '00000000:0000', '0A', 100), // 127.0.0.1:8082 listening
      row(1, '0100007F:1F92', '0100007F:D431', '06', 0), // the app's end, closed first: TIME_WAIT
      row(2, '0100007F:C350', '0100007F:1F92', '01', 101), // nginx's end of another, still open
      row(3, '0100007F:C351', '0100007F:1F91', '06', 0), // to 8081: another port
    ].join('\n');
    const rows = parseNetTcp(text, 4, '/proc/net/tcp');
    expect([...listConnectionsTo(rows, 8082)].sort()).toEqual(['127.0.0.1:50000', '127.0.0.1:54321']);
    expect([...listConnectionsTo(rows, 8081)]).toEqual(['127.0.0.1:50001']);
  });
});

describe('requests no sample caught: where the connections that appeared say they went', () => {
  const ends = (n: number, from = 40000) => new Set(Array.from({ length: n }, (_, i) => `127.0.0.1:${from + i}`));
  const before = new Map([
    [8082, ends(2, 30000)],
    [8081, ends(3, 31000)],
  ]);
  const seenAfter = (to8082: number, to8081: number) =>
    new Map([
      [8082, new Set([...before.get(8082)!, ...ends(to8082, 50000)])],
      [8081, new Set([...before.get(8081)!, ...ends(to8081, 60000)])],
    ]);

  it('one per request to the old port, none to the new (a bind-mounted include): they went there', () => {
    expect(judgeUnseen(8, 0, 8082, [8081], before, seenAfter(0, 8))).toEqual({
      kind: 'elsewhere',
      port: 8081,
      appeared: 8,
    });
    // A worker that opened a socket unseen changes nothing: the rows say where it went.
    expect(judgeUnseen(8, 3, 8082, [8081], before, seenAfter(0, 9))).toEqual({
      kind: 'elsewhere',
      port: 8081,
      appeared: 9,
    });
  });

  it('fewer to the old port than requests sent (a monitor, an old worker finishing): not blamed on nginx', () => {
    expect(judgeUnseen(8, 0, 8082, [8081], before, seenAfter(0, 7))).toEqual({ kind: 'nowhere' });
    expect(judgeUnseen(8, 2, 8082, [8081], before, seenAfter(0, 7))).toEqual({ kind: 'opened-unseen' });
  });

  it('any to the new port: forwarded there too fast to attribute, whatever went to the old one', () => {
    expect(judgeUnseen(8, 0, 8082, [8081], before, seenAfter(1, 20))).toEqual({ kind: 'too-fast', appeared: 1 });
  });

  it('connections there before the first request are no trace', () => {
    expect(judgeUnseen(3, 0, 8082, [8081], before, seenAfter(0, 0))).toEqual({ kind: 'nowhere' });
  });
});
