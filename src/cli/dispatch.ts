import { ignoreClosedPipe } from '../runner/closed-pipe.ts';
import { suggestKey } from '../core/config/suggest-key.ts';
import { VERSION } from '../core/version.ts';
import type { CommandEntry } from './commands.ts';

/** The help that `--help` and `help` print (and bare `portproof`, on stderr, as a usage error). */
export function formatUsage(commands: Record<string, CommandEntry>): string {
  const rows = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(9)} ${c.summary}`);
  return [
    `portproof ${VERSION}: CodeDeploy hooks that prove the new process owns the port`,
    '',
    'usage: portproof COMMAND [options]',
    '       portproof help COMMAND   (or COMMAND --help)',
    '',
    'commands:',
    ...rows,
  ].join('\n');
}

/** Pick the command named by the first word and run it: help, version and usage errors are answered here. */
export async function dispatch(argv: string[], commands: Record<string, CommandEntry>): Promise<number> {
  ignoreClosedPipe();
  const [name, ...rest] = argv;
  // No command is a usage error (exit 2): a script that runs `portproof $CMD` with CMD unset must not pass.
  if (name === undefined) return complain(formatUsage(commands));
  if (name === '--help' || name === '-h') return say(formatUsage(commands));
  if (name === '--version' || name === '-v' || name === 'version') return say(`portproof ${VERSION}`);
  if (name === 'help') {
    if (rest.length === 0) return say(formatUsage(commands));
    return runCommand(rest[0]!, ['--help'], commands);
  }
  return runCommand(name, rest, commands);
}

async function runCommand(name: string, argv: string[], commands: Record<string, CommandEntry>): Promise<number> {
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (command === undefined && name === '--check') {
    // The status report is the hooks' own flag: it reads the state of the host it runs on.
    const where = 'on the host, as root: <deployment-archive>/hooks/validate --check';
    console.error(`portproof: --check is a flag of the hooks, not of this CLI; run it ${where}`);
    return 2;
  }
  if (command === undefined) {
    const meant = suggestKey(name, Object.keys(commands));
    const hint = meant === null ? `the commands: ${Object.keys(commands).join(', ')}` : `did you mean ${meant}?`;
    console.error(`portproof: unknown command "${name}"; ${hint}`);
    return 2;
  }
  const untilDashes = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv;
  if (command.help && (untilDashes.includes('--help') || untilDashes.includes('-h'))) return say(command.help);
  // Every command answers --version as the CLI does (the hooks print their own, with their event).
  if (command.help && untilDashes.includes('--version')) return say(`portproof ${VERSION}`);
  return (await command.load()).run(argv);
}

function say(text: string): number {
  console.log(text);
  return 0;
}

function complain(text: string): number {
  console.error(text);
  return 2;
}

/** parseArgs' complaint as one clause: its first sentence, whatever Node version wrote it. */
export function describeArgsError(error: unknown): string {
  return ((error as Error).message.split(/\n|\. /)[0] ?? '').replace(/\.$/, '');
}
