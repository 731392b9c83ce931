import { setTimeout as sleep } from 'node:timers/promises';
import { formatDuration } from '../config/duration.ts';
import { displayUrl } from '../config/secrets.ts';
import { HookError } from '../errors.ts';
import type { Progress } from '../progress.ts';
import { describeProcess } from '../process/describe.ts';
import { findConnectionOwners, hasIdentity, listProcessTree } from '../procfs/index.ts';
import type { ProcessIdentity } from '../procfs/types.ts';
import { judgeAnswer, type HealthExpectation } from './check.ts';
import { probeOnce, type ClientEnd, type ProbeAnswer } from './probe.ts';
import type { TlsSettings } from './tls.ts';

/** How to poll: the URL, what counts as healthy, per-request timeout, pause between tries, and the last moment. */
export interface HealthPolicy extends HealthExpectation {
  url: string;
  requestTimeoutMs: number;
  intervalMs: number;
  untilMs: number;
  /** health.tls, for an https URL. */
  tls?: TlsSettings | undefined;
}

/** A passing health check: which try, how long the answer took, its status. */
export interface Healthy {
  attempts: number;
  status: number;
  latencyMs: number;
  waitedMs: number;
}

/**
 * Poll the health URL until an answer passes, each one proven to have come over a connection whose server side is
 * owned by the new process tree. Fails with the last answer's reason when the time is up.
 */
export async function waitForHealthy(root: ProcessIdentity, policy: HealthPolicy, out: Progress): Promise<Healthy> {
  const startedAt = Date.now();
  // The URL as printed and logged: a password in it is shown as ***.
  const shownUrl = displayUrl(policy.url);
  out.begin(`Checking health at ${shownUrl}`, { url: shownUrl });
  let attempts = 0;
  let lastReason = 'no answer yet';
  while (attempts === 0 || Date.now() < policy.untilMs) {
    attempts += 1;
    const timeoutMs = Math.max(100, Math.min(policy.requestTimeoutMs, policy.untilMs - Date.now()));
    const { answer, reason } = await probeHealthOnce(root, policy, timeoutMs);
    if (reason === null)
      return { attempts, status: answer.status ?? 0, latencyMs: answer.durationMs, waitedMs: Date.now() - startedAt };
    // The new process itself presents a certificate that fails verification: it will present the same one again.
    if (answer.certificateRejected === true && answer.attribution === null) {
      const context = { url: shownUrl, attempts, durationMs: Date.now() - startedAt };
      throw new HookError('UNHEALTHY', `${shownUrl}: ${reason}`, context);
    }
    // A last try cut short by the deadline says nothing new about the app: the verdict keeps the answer before it.
    const cutShort = timeoutMs < policy.requestTimeoutMs && answer.timedOut === true && attempts > 1;
    if (!cutShort) {
      if (reason !== lastReason) out.say(`  try ${attempts}: ${reason}`, { attempt: attempts, status: answer.status });
      lastReason = reason;
    }
    out.progress(startedAt, policy.untilMs);
    const pause = Math.min(policy.intervalMs, policy.untilMs - Date.now());
    if (pause > 0) await sleep(pause);
  }
  throw new HookError(
    'UNHEALTHY',
    `${shownUrl} not healthy after ${formatDuration(Date.now() - startedAt)} (${attempts} tries); last: ${lastReason}`,
    {
      url: shownUrl,
      attempts,
      durationMs: Date.now() - startedAt,
    },
  );
}

/** One health request within `timeoutMs`, attributed to the tree rooted at `root`: the answer, and why it fails. */
export async function probeHealthOnce(
  root: ProcessIdentity,
  policy: Omit<HealthPolicy, 'intervalMs' | 'untilMs'>,
  timeoutMs: number,
): Promise<{ answer: ProbeAnswer; reason: string | null }> {
  const answer = await probeOnce(policy.url, timeoutMs, (end) => attributeConnection(root, end), policy.tls);
  return { answer, reason: judgeAnswer(answer, policy) };
}

/** Null when the server side of this connection belongs to the new tree; 'pending' until accepted; else who owns it. */
function attributeConnection(root: ProcessIdentity, end: ClientEnd): string | null | 'pending' {
  const found = findConnectionOwners(
    { localPort: end.serverPort, remoteAddress: end.localAddress, remotePort: end.localPort },
    undefined,
    root,
  );
  if (found.owners.length === 0) return 'pending';
  // Held by the started process itself: proven without listing its descendants.
  if (found.owners.every((o) => hasIdentity(o, root))) return null;
  const tree = new Set(listProcessTree(root).map((p) => p.pid));
  const foreign = found.owners.filter((o) => !tree.has(o.pid));
  return foreign.length === 0 ? null : `the answer came from ${describeProcess(foreign[0]!)}, not from the new process`;
}
