import { spawn } from 'node:child_process';
import path from 'node:path';
import { RevisionHooks } from './revision.ts';

/** How one hook ended: exit code, its last line (the verdict), and all it printed. */
export interface HookOutcome {
  code: number | null;
  verdict: string;
  output: string;
  durationMs: number;
}

/** Run one of a revision's hooks the way the CodeDeploy agent does: directly, with its variables, output piped. */
export function runRevisionHook(revisionDir: string, event: keyof typeof RevisionHooks, deploymentId: string, cwd: string): Promise<HookOutcome> {
  const startedAt = Date.now();
  const env: NodeJS.ProcessEnv = { ...process.env, LIFECYCLE_EVENT: event, DEPLOYMENT_ID: deploymentId, APPLICATION_NAME: 'rehearsal', DEPLOYMENT_GROUP_NAME: 'local', DEPLOYMENT_GROUP_ID: 'local' };
  delete env.PORTPROOF_BUNDLE_ROOT;
  delete env.PORTPROOF_CONFIG;
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(revisionDir, 'hooks', RevisionHooks[event]), [], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const lines = output.trim().split('\n');
      resolve({ code, verdict: lines.at(-1) ?? '', output, durationMs: Date.now() - startedAt });
    });
  });
}
