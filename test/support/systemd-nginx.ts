import fs from 'node:fs';
import path from 'node:path';
import { renderNginxConf, renderServiceUrl } from '../../src/lab/nginx.ts';

// The systemd bed's nginx: the lab's nginx.conf in a prefix under the bound scratch directory, run by the container's
// systemd as an enabled unit of its own (so it is back after a reboot), with temp paths under its prefix (the
// container's /var/lib/nginx is a fresh tmpfs).

/** The lab nginx's unit inside the container. */
export const NginxUnit = 'pp-nginx.service';

/** The fixed ports inside the container: nginx listens on `listen` and proxies to blue or green. */
export const BedPorts = { listen: 8080, blue: 8081, green: 8082 } as const;

/** Where the bed's nginx keeps its files, and the argv that names them. */
export interface BedNginx {
  prefix: string;
  confPath: string;
  includePath: string;
  pidFile: string;
  base: string[];
}

/** The lab's nginx.conf in a prefix under scratch, its include naming green (where nothing listens yet). */
export function writeNginxPrefix(nginxBin: string, prefix: string): BedNginx {
  for (const dir of ['logs', 'temp', 'conf']) fs.mkdirSync(path.join(prefix, dir), { recursive: true });
  fs.chmodSync(prefix, 0o755);
  const confPath = path.join(prefix, 'conf/nginx.conf');
  const includePath = path.join(prefix, 'conf/service-url.inc');
  fs.writeFileSync(includePath, renderServiceUrl(BedPorts.green));
  fs.writeFileSync(confPath, renderNginxConf(prefix, BedPorts.listen, includePath));
  const pidFile = path.join(prefix, 'nginx.pid');
  return { prefix, confPath, includePath, pidFile, base: [nginxBin, '-p', prefix, '-c', confPath] };
}

/** nginx as a unit of its own (the conf says `daemon on`): enabled, so a reboot brings it back. */
export function renderNginxUnit(nginx: BedNginx): string {
  const base = nginx.base.join(' ');
  return `[Unit]
Description=The lab's private nginx for the portproof tests

[Service]
Type=forking
PIDFile=${nginx.pidFile}
ExecStart=${base}
ExecReload=${base} -s reload
ExecStop=${base} -s quit

[Install]
WantedBy=multi-user.target
`;
}
