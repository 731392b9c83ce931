// Steady HTTP load from its own process with autocannon, bucketed per 100 ms: successes, failures by kind, latencies.
// Started with one JSON argument { url, connections, maxSeconds }; stops on SIGTERM (or maxSeconds) and prints JSON.
import autocannon from 'autocannon';

const options = JSON.parse(process.argv[2]);
const startedAt = Date.now();
const buckets = new Map();
const bucketAt = (t) => {
  const key = Math.floor((t - startedAt) / 100);
  let b = buckets.get(key);
  if (!b) buckets.set(key, (b = { ok: 0, failed: 0, failures: {}, latencies: [] }));
  return b;
};
const instance = autocannon({ url: options.url, connections: options.connections, duration: options.maxSeconds, timeout: 3, pipelining: 1 });
instance.on('response', (_client, statusCode, _bytes, responseTime) => {
  const b = bucketAt(Date.now());
  if (statusCode >= 200 && statusCode < 300) b.ok += 1;
  else {
    b.failed += 1;
    b.failures[`status ${statusCode}`] = (b.failures[`status ${statusCode}`] ?? 0) + 1;
  }
  b.latencies.push(responseTime);
});
instance.on('reqError', (error) => {
  const b = bucketAt(Date.now());
  b.failed += 1;
  const kind = error.code ?? error.message;
  b.failures[kind] = (b.failures[kind] ?? 0) + 1;
});
const finish = () => {
  const out = { startedAt, buckets: [...buckets].sort((a, b) => a[0] - b[0]).map(([i, b]) => ({ t: i * 100, ...b })) };
  process.stdout.write(`${JSON.stringify(out)}\n`, () => process.exit(0));
};
instance.on('done', finish);
process.on('SIGTERM', () => instance.stop());
process.stdout.write('ready\n');
