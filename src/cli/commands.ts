import { WhyUsage } from '../why/args.ts';

/** A workstation command: parses its own flags and returns an exit code. */
export type Command = { run(argv: string[]): Promise<number> };

/** One word of `portproof WORD`: what it does, its --help (hooks print their own), and its module. */
export interface CommandEntry {
  summary: string;
  help?: string;
  load: () => Promise<Command>;
}

const hook = (event: 'ApplicationStop' | 'ApplicationStart' | 'ValidateService') => async () =>
  (await import('./commands/hook.ts')).hookCommand(event);

/** Every command of the checkout's CLI, in the order `portproof help` lists them. */
export const Commands: Record<string, CommandEntry> = {
  init: {
    summary: 'write portproof.yml, appspec.yml and the nginx snippet for your app',
    help: [
      'usage: portproof init [--layout blue-green|in-place] [--command "java -jar app.jar"] [--user U]',
      '                      [--health /health] [--url URL] [--name N] [--ports 8081,8082] [--include PATH]',
      '                      [--dir DIR] [--force]',
      '',
      'Writes portproof.yml, portproof.schema.json (for editors), appspec.yml and, for blue-green, nginx/NAME.conf',
      '(the site: the default server on port 80) and nginx/NAME.inc (the include portproof rewrites, seeded with the',
      'first port), then prints what changes on the host. Asks for what the flags leave out when run in a terminal;',
      'refuses to overwrite a file without --force.',
      '',
      '  --layout      blue-green (two ports, nginx switches between them) or in-place (one port, no nginx)',
      '  --command     the app and its arguments, split as a shell splits them (quotes kept together, nothing',
      '                expanded); {port} is replaced by the port. A java -jar command naming no {port} gets',
      '                --server.port={port} (asked in a terminal): Spring Boot ignores PORT',
      '  --user        the account the app runs as (created by you, not by portproof)',
      '  --health      the path that answers 200 when the app is ready',
      '  --url         blue-green: the URL through nginx probed after each switch, proving requests reach the new',
      '                version (nginx.url; default: http://127.0.0.1 + the health path)',
      '  --name        the app name (default: the directory name)',
      '  --ports       the ports (default: 8081,8082 for blue-green, 8080 in place)',
      '  --include     the include on the host (default: /etc/nginx/conf.d/NAME-upstream.inc)',
      '  --dir         where to write (default: the current directory)',
      '  --force       overwrite files that exist',
    ].join('\n'),
    load: () => import('./commands/init.ts'),
  },
  bundle: {
    summary: 'check the config and assemble a deployable revision directory',
    help: [
      'usage: portproof bundle --out DIR [--arch x64|arm64] [--config FILE] [--appspec FILE] [--force] PATH...',
      '',
      'Checks portproof.yml with every rule that does not need the host, and its waits against the appspec',
      'timeouts, then writes DIR: appspec.yml, portproof.yml, hooks/ for the arch and each PATH (file or',
      'directory, its relative path kept) under app/.',
      '',
      '  --out DIR      the revision directory to write',
      "  --arch A       the hosts' arch (default: this machine's)",
      '  --config FILE  default: portproof.yml',
      '  --appspec FILE default: appspec.yml',
      '  --force        replace what DIR holds',
      '  --no-files     ship no files under app/ (the host already holds them): without it, no PATH is refused',
    ].join('\n'),
    load: () => import('./commands/bundle.ts'),
  },
  why: {
    summary: 'why a CodeDeploy deployment failed: events, scripts, log tails',
    help: WhyUsage,
    load: () => import('./commands/why.ts'),
  },
  owners: {
    summary: 'who listens on a port, with every owning process',
    help: 'usage: portproof owners PORT [--json]\n\nEach listener on PORT and every process holding it (as root: all).',
    load: () => import('./commands/owners.ts'),
  },
  stop: { summary: 'ApplicationStop from source: free the target port', load: hook('ApplicationStop') },
  start: {
    summary: 'ApplicationStart from source: start the app, wait until it listens',
    load: hook('ApplicationStart'),
  },
  validate: {
    summary: 'ValidateService from source: prove ownership, check health, switch nginx',
    load: hook('ValidateService'),
  },
  build: {
    summary: 'compile the hooks into single binaries for linux-x64 and linux-arm64',
    help: 'usage: portproof build [--arch x64|arm64] [--out DIR]\n\nCompiles the hooks (default: both arches).',
    load: () => import('./commands/build.ts'),
  },
  demo: {
    summary: 'rehearse two deployments of a sample app behind a private nginx',
    help: 'usage: portproof demo\n\nBuilds the hooks if needed and deploys examples/sample-app twice through them.',
    load: () => import('./commands/demo.ts'),
  },
};
