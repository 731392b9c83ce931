// Steady HTTP load from its own process, bucketed per 100 ms: successes, failures by kind, response times.
// Started with one JSON argument { url, clients, rate, maxSeconds }; stops on SIGTERM (or maxSeconds), prints JSON.
//
// Each request is a new connection, as from many separate users. Kept-alive connections are what autocannon and
// wrk use, and they never retry: nginx's reload closes idle kept-alive connections, so a request racing that close
// is reset whatever the deployment does (1–2 per reload for either system in a measured run), where a browser
// would retry it. Those would hide the failures that matter here: 502s and refused connections.
import http from 'node:http';

const options = JSON.parse(process.argv[2]);
const startedAt = Date.now();
const buckets = new Map();
let running = true;

function bucketAt(t) {
  const key = Math.floor((t - startedAt) / 100);
  let b = buckets.get(key);
  if (!b) buckets.set(key, (b = { ok: 0, failed: 0, failures: {}, latencies: [] }));
  return b;
}

function count(sentAt, failure) {
  const now = Date.now();
  const b = bucketAt(now);
  if (failure === null) b.ok += 1;
  else {
    b.failed += 1;
    b.failures[failure] = (b.failures[failure] ?? 0) + 1;
  }
  b.latencies.push(now - sentAt);
}

function once() {
  return new Promise((resolve) => {
    const sentAt = Date.now();
    let settled = false;
    const settle = (failure) => {
      if (settled) return;
      settled = true;
      count(sentAt, failure);
      resolve();
    };
    const req = http.get(options.url, { agent: false, timeout: 3000 }, (res) => {
      res.resume();
      res.on('error', (e) => settle(e.code ?? 'response error'));
      res.on('end', () => settle(res.statusCode >= 200 && res.statusCode < 300 ? null : `status ${res.statusCode}`));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', (e) => settle(e.code ?? e.message));
  });
}

// Each client sends one request per interval (or at once when the last took longer): a steady total rate that
// leaves the two cores to the hooks and the app, as production traffic would.
async function client(index) {
  const interval = (options.clients * 1000) / options.rate;
  let next = Date.now() + (index * interval) / options.clients;
  while (running) {
    await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
    if (!running) break;
    next += interval;
    await once();
    if (Date.now() > next) next = Date.now();
  }
}

const clients = Array.from({ length: options.clients }, (_, i) => client(i));
async function stop() {
  if (!running) return;
  running = false;
  await Promise.all(clients);
  const out = { startedAt, buckets: [...buckets].sort((a, b) => a[0] - b[0]).map(([i, b]) => ({ t: i * 100, ...b })) };
  process.stdout.write(`${JSON.stringify(out)}\n`, () => process.exit(0));
}
setTimeout(stop, options.maxSeconds * 1000);
process.on('SIGTERM', stop);
process.stdout.write('ready\n');
