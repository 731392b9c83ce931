// Run `node bin/portproof.js why …` as a child process with a clean AWS environment pointed at a local server.
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';

const repo = path.resolve(import.meta.dirname, '../..');

/** What a CLI run left behind. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * An environment with fake credentials and a region and nothing inherited from AWS_* of the caller: no shared
 * config files, no instance metadata lookups (the chain must never reach for a non-loopback address in tests).
 */
export function whyEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: os.tmpdir(),
    TMPDIR: process.env.TMPDIR,
    AWS_CONFIG_FILE: path.join(os.tmpdir(), 'portproof-why-no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(os.tmpdir(), 'portproof-why-no-aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ACCESS_KEY_ID: 'AKIDPORTPROOFTEST',
    AWS_SECRET_ACCESS_KEY: 'portproof-test-secret',
    AWS_REGION: 'us-east-1',
    PORTPROOF_WHY_POLL_MS: '20',
  };
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

/** Run the CLI with `why` and args; resolves when it exits (no shell, a 60 s cap). */
export function runWhyCli(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(repo, 'bin/portproof.js'), 'why', ...args], {
      cwd: repo,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The lines of some output, without the final newline. */
export function linesOf(text: string): string[] {
  return text.replace(/\n$/, '').split('\n');
}
