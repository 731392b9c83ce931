import { spawn, type SpawnOptions } from 'node:child_process';

export interface FileRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Run a program to its end without blocking the test's event loop: vitest's worker answers its own RPC timers from
 * that loop, and a spawnSync longer than 60 s (a build, a release) ends the run with "Timeout calling onTaskUpdate".
 */
export function runFile(file: string, args: string[], options: SpawnOptions = {}): Promise<FileRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}
