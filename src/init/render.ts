// What `portproof init` writes: a config, an appspec and, for blue/green, an nginx site with its seeded include.

/** The answers init works from, by flag or by prompt. */
export interface InitAnswers {
  name: string;
  layout: 'blue-green' | 'in-place';
  command: string[];
  user: string | undefined;
  healthPath: string;
  ports: number[];
  /** Where the include ValidateService rewrites lives on the host. */
  include: string;
  /** Blue/green: the URL through nginx that ValidateService probes to prove requests reach the new version. */
  nginxUrl?: string | undefined;
}

/** One file init writes: its path relative to the directory, its text, and where it goes on the host (if anywhere). */
export interface InitFile {
  name: string;
  text: string;
  hostPath?: string;
}

/** portproof.yml, appspec.yml and, for blue/green, the nginx site and its seeded include. */
export function renderInitFiles(a: InitAnswers, schemaText: string): InitFile[] {
  const files: InitFile[] = [
    { name: 'portproof.yml', text: renderConfig(a) },
    { name: 'portproof.schema.json', text: schemaText },
    { name: 'appspec.yml', text: renderAppspec(a) },
  ];
  if (a.layout === 'blue-green') {
    files.push({ name: `nginx/${a.name}.conf`, text: renderSite(a), hostPath: `/etc/nginx/conf.d/${a.name}.conf` });
    // nginx refuses an upstream with no server: the include is seeded with the first port.
    files.push({ name: `nginx/${a.name}.inc`, text: renderServiceLine(a.ports[0]!), hostPath: a.include });
  }
  return files;
}

/**
 * The include's one line: the upstream's server, on `port`. An upstream with keep-alive lets nginx hold its connection
 * to the app, so the switch's proof sees it and names the process it reaches (see nginx.line in the config).
 */
export const UpstreamLine = 'server 127.0.0.1:{port};';

/** The include's text for a port. */
export function renderServiceLine(port: number): string {
  return `${UpstreamLine.replace('{port}', String(port))}\n`;
}

function renderConfig(a: InitAnswers): string {
  const quote = (s: string) => (/^[A-Za-z0-9_./=:@-]+$/.test(s) && !/^[0-9]/.test(s) ? s : JSON.stringify(s));
  const lines = [
    '# yaml-language-server: $schema=./portproof.schema.json',
    '# Written by portproof init. Durations need a unit: 500ms, 30s, 2m. Unknown keys are errors.',
    'app:',
    `  name: ${a.name}`,
    `  command: [${a.command.map(quote).join(', ')}]   # no shell; {port} is replaced, PORT is set`,
    ...(a.user ? [`  user: ${a.user}`] : ['  # user: the account to run as (default: root)']),
    `ports: [${a.ports.join(', ')}]`,
    'health:',
    `  url: http://127.0.0.1:{port}${a.healthPath}`,
    '  timeout: 60s',
    'stop: { grace: 30s }',
    'start: { timeout: 120s }',
  ];
  if (a.layout === 'blue-green') {
    const proof = '  # probed after each switch: requests through nginx must reach the new version';
    const url = `  url: ${a.nginxUrl ?? `http://127.0.0.1${a.healthPath}`}`;
    lines.push('nginx:', `  include: ${a.include}`, `  line: "${UpstreamLine}"`, proof, url);
  }
  return `${lines.join('\n')}\n`;
}

function renderAppspec(a: InitAnswers): string {
  const hook = (event: string, file: string, timeout: number) => [
    `  ${event}:`,
    `    - location: hooks/${file}`,
    `      timeout: ${timeout}`,
    '      runas: root',
  ];
  return [
    '# Written by portproof init. `portproof bundle` puts this file, portproof.yml, hooks/ and your files (under app/)',
    "# into a revision; only app/ is copied to the destination, the hooks run from the agent's copy.",
    'version: 0.0',
    'os: linux',
    'files:',
    '  - source: app',
    `    destination: /opt/${a.name}`,
    'hooks:',
    ...hook('ApplicationStop', 'stop', 60),
    ...hook('ApplicationStart', 'start', 180),
    ...hook('ValidateService', 'validate', 300),
    '',
  ].join('\n');
}

function renderSite(a: InitAnswers): string {
  return [
    `# nginx site for ${a.name}: copy to /etc/nginx/conf.d/${a.name}.conf. ValidateService rewrites the include (the`,
    "# upstream's one server line) to the port it proved. Keep-alive to the upstream lets the proof see which process",
    "# each request reaches. It is the default server on port 80: requests for any name reach it (remove Debian's",
    '# sites-enabled/default, which claims it too).',
    `upstream portproof_${a.name} {`,
    `    include ${a.include};`,
    '    keepalive 8;',
    '}',
    'server {',
    '    listen 80 default_server;',
    '    server_name _;',
    '    location / {',
    `        proxy_pass http://portproof_${a.name};`,
    '        proxy_http_version 1.1;',
    '        proxy_set_header Connection "";',
    '        proxy_set_header Host $host;',
    '        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
    '        proxy_set_header X-Forwarded-Proto $scheme;',
    '    }',
    '}',
    '',
  ].join('\n');
}

/**
 * What deploying this config changes on a host, in the order it happens: printed by init. `debianDefault`: Debian's
 * sites-enabled/default is on this machine (it is on every Debian/Ubuntu nginx until removed).
 */
export function describeHostChanges(a: InitAnswers, debianDefault = false): string[] {
  const ports = a.ports.join(' and ');
  const found = debianDefault ? ' (found here)' : '';
  return [
    'On each host, once:',
    ...(a.layout === 'blue-green'
      ? [
          `  copy nginx/${a.name}.conf to /etc/nginx/conf.d/${a.name}.conf`,
          `  copy nginx/${a.name}.inc to ${a.include}`,
          `  rm /etc/nginx/sites-enabled/default${found}: on Debian/Ubuntu it claims port 80 as well`,
          '  then: nginx -t && nginx -s reload',
        ]
      : []),
    ...(a.user ? [`  the account ${a.user} must exist (portproof does not create it)`] : []),
    'On each deployment, the hooks (as root):',
    `  keep state, locks and app logs in /var/lib/portproof/${a.name}/`,
    `  stop whatever listens on the port being deployed (${ports}), and nothing else`,
    `  under systemd: write and enable portproof-${a.name}@PORT.service in /etc/systemd/system`,
    ...(a.layout === 'blue-green'
      ? [`  rewrite ${a.include} to the proved port, then nginx -t and reload`, '  the previous port keeps running']
      : []),
  ];
}
