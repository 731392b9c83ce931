#!/usr/bin/env node
// The sample app the rehearsal deploys: a tiny web service with a Spring-style health endpoint and a graceful
// shutdown that takes a moment, like a real one. Port from --port=N or PORT; version from --version=vN.
import http from 'node:http';

const flag = (name, fallback) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback;
const port = Number(flag('port', process.env.PORT));
const version = flag('version', 'v1');
const shutdownMs = Number(flag('shutdown-ms', '1500'));

const server = http.createServer((req, res) => {
  const body = req.url === '/actuator/health' ? { status: 'UP' } : { app: 'sample', version, pid: process.pid };
  res.writeHead(200, { 'content-type': 'application/json', 'x-version': version });
  res.end(`${JSON.stringify(body)}\n`);
});

server.listen(port, '127.0.0.1', () => console.log(`sample ${version} (PID ${process.pid}) listening on ${port}`));
server.on('error', (error) => {
  console.error(
    `sample ${version}: ${error.code === 'EADDRINUSE' ? `Port ${port} was already in use` : error.message}`,
  );
  process.exit(1);
});

process.on('SIGTERM', () => {
  console.log(`sample ${version}: SIGTERM, finishing requests for ${shutdownMs} ms`);
  setTimeout(() => server.close(() => process.exit(0)), shutdownMs);
  setTimeout(() => server.closeAllConnections(), shutdownMs);
});
