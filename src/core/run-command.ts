import { spawn } from 'node:child_process';

/** How a short helper command (nginx -t, nginx -s reload) ended, with its output. */
export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  /** Standard output alone (`nginx -T` prints the files it loads there, its verdict on stderr). */
  stdout: string;
  error: string | null;
}

/** Run an argv (no shell) to completion with a time limit, capturing stdout and stderr together. */
export function runCommand(argv: string[], timeoutMs: number): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
    });
    const chunks: Buffer[] = [];
    const stdout: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => {
      chunks.push(c);
      stdout.push(c);
    });
    child.stderr.on('data', (c: Buffer) => chunks.push(c));
    child.on('error', (error: NodeJS.ErrnoException) =>
      resolve({
        code: null,
        signal: null,
        output: '',
        stdout: '',
        error: error.code === 'ENOENT' ? `${argv[0]}: not found` : error.message,
      }),
    );
    child.on('close', (code, signal) =>
      resolve({
        code,
        signal,
        output: Buffer.concat(chunks).toString('utf8').trim(),
        stdout: Buffer.concat(stdout).toString('latin1'),
        error: null,
      }),
    );
  });
}

/** "nginx -t" as one readable phrase for a verdict. */
export function formatArgv(argv: string[]): string {
  return argv.join(' ');
}
