// The lab's load generator, in its own Node process so that the caller's event loop never limits the load.
// Started with one JSON argument (the settings in hammer.ts); prints one JSON line per 100 ms ("progress") and a
// last one ("final", with the buckets) once stdin ends or closes, on SIGTERM, or after maxDurationMs.
//
// Each request is a new connection by default, as from many separate users. Kept-alive connections are what
// autocannon and wrk use, and they never retry: nginx's reload closes idle kept-alive connections, so a request
// racing that close is reset whatever the deployment does, where a browser would retry it. Those would hide the
// failures that matter here: 502s and refused connections.
import http from 'node:http';

const o = JSON.parse(process.argv[2]);
const agent = o.keepAlive ? new http.Agent({ keepAlive: true, maxSockets: o.concurrency }) : false;
const c = { sent: 0, ok: 0, failed: 0, failures: {}, byVersion: {}, durationMs: 0, hitMaxDuration: false };
const startedAt = Date.now();
const buckets = new Map();
let running = true;

const bump = (map, key) => {
  map[key] = (map[key] ?? 0) + 1;
};

function report(type) {
  c.durationMs = Date.now() - startedAt;
  const extra = type === 'final' ? { startedAt, buckets: listBuckets() } : {};
  process.stdout.write(`${JSON.stringify({ type, ...c, ...extra })}\n`);
}

function listBuckets() {
  return [...buckets].sort((a, b) => a[0] - b[0]).map(([i, b]) => ({ t: i * 100, ...b }));
}

// Each answer lands in the 100 ms bucket of the moment it ended, with its response time.
function record(sentAt, ok, key) {
  const now = Date.now();
  const index = Math.floor((now - startedAt) / 100);
  let b = buckets.get(index);
  if (!b) {
    b = { ok: 0, failed: 0, failures: {}, latencies: [] };
    buckets.set(index, b);
  }
  if (ok) {
    c.ok++;
    b.ok++;
    bump(c.byVersion, key);
  } else {
    c.failed++;
    b.failed++;
    bump(c.failures, key);
    bump(b.failures, key);
  }
  b.latencies.push(now - sentAt);
}

function once() {
  return new Promise((resolve) => {
    const sentAt = Date.now();
    let settled = false;
    const settle = (ok, key) => {
      if (settled) return;
      settled = true;
      record(sentAt, ok, key);
      resolve();
    };
    c.sent++;
    const req = http.get(o.url, { agent, timeout: o.requestTimeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        if (body.length < 4096) body += chunk;
      });
      res.on('error', (e) => settle(false, e.code ?? 'response error'));
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        if (status < 200 || status > 299) return settle(false, `status ${status}`);
        settle(true, res.headers['x-version'] ?? /version=(\S+)/.exec(body)?.[1] ?? 'unknown');
      });
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', (e) => settle(false, e.code ?? e.message));
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Without a rate, each client sends its next request as soon as the last ended (after pauseMs).
async function loop() {
  while (running) {
    await once();
    if (o.pauseMs > 0) await sleep(o.pauseMs);
  }
}

// With a rate, each client sends one request per interval (or at once when the last took longer): a steady total
// rate that leaves the cores to the hooks and the app, as production traffic would.
async function pacedLoop(index) {
  const interval = (o.concurrency * 1000) / o.rate;
  let next = Date.now() + (index * interval) / o.concurrency;
  while (running) {
    await sleep(Math.max(0, next - Date.now()));
    if (!running) break;
    next += interval;
    await once();
    if (Date.now() > next) next = Date.now();
  }
}

const loops = Array.from({ length: o.concurrency }, (_, i) => (o.rate > 0 ? pacedLoop(i) : loop()));
const progress = setInterval(() => report('progress'), 100);
let stopping = false;
async function stop(byTimer) {
  if (stopping) return;
  stopping = true;
  running = false;
  c.hitMaxDuration = byTimer;
  clearInterval(progress);
  clearTimeout(maxTimer);
  await Promise.all(loops);
  report('final');
  process.stdout.end(() => process.exit(0));
}
const maxTimer = setTimeout(() => stop(true), o.maxDurationMs);
process.stdin.on('data', () => stop(false));
process.stdin.on('end', () => stop(false));
process.on('SIGTERM', () => stop(false));
report('progress');
