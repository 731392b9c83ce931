// The workstation CLI: one word picks a command module; each module parses its own flags and returns an exit code.
type Command = { run(argv: string[]): Promise<number> };

const commands: Record<string, { summary: string; load: () => Promise<Command> }> = {
  stop: {
    summary: 'ApplicationStop from source: free the target port',
    load: async () => (await import('./commands/hook.ts')).hookCommand('ApplicationStop'),
  },
  start: {
    summary: 'ApplicationStart from source: start the app and wait until it listens',
    load: async () => (await import('./commands/hook.ts')).hookCommand('ApplicationStart'),
  },
  owners: { summary: 'who listens on a port, with every owning process', load: () => import('./commands/owners.ts') },
  build: {
    summary: 'compile the hooks into single binaries for linux-x64 and linux-arm64',
    load: () => import('./commands/build.ts'),
  },
  bundle: {
    summary: 'assemble a deployable revision: appspec.yml, portproof.yml, hooks/ for one arch, your files',
    load: () => import('./commands/bundle.ts'),
  },
  demo: {
    summary: 'rehearse two deployments of a sample app through the compiled hooks behind a private nginx',
    load: () => import('./commands/demo.ts'),
  },
  validate: {
    summary: 'ValidateService from source: prove ownership, check health, switch nginx',
    load: async () => (await import('./commands/hook.ts')).hookCommand('ValidateService'),
  },
  why: {
    summary: 'why a CodeDeploy deployment failed: events, scripts, log tails',
    load: () => import('./commands/why.ts'),
  },
};

function usage(): string {
  const rows = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return ['usage: portproof <command> [options]', '', 'commands:', ...rows].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (command === undefined) {
    console.error(`portproof: unknown command "${name}" (try portproof --help)`);
    return 2;
  }
  return (await command.load()).run(rest);
}

process.exitCode = await main(process.argv.slice(2));
