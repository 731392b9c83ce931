// Fleet view: targets that failed the same way become one group, shown once with one representative log tail.
import { firstLine } from './errors.ts';
import type { EventFacts, FailureGroup, TargetFacts } from './types.ts';

/** Group failed and skipped targets by event, error code, script and first message line; largest failures first. */
export function groupFailures(targets: TargetFacts[]): FailureGroup[] {
  const groups = new Map<string, { group: FailureGroup; tails: Set<string> }>();
  for (const target of targets) {
    const outcome = target.status === 'Failed' ? 'failed' : target.status === 'Skipped' ? 'skipped' : undefined;
    if (outcome === undefined) continue;
    const event = outcome === 'failed' ? findFailedEvent(target) : findExplainingEvent(target);
    const stuckAt = outcome === 'failed' && event === undefined ? findStuckEvent(target) : undefined;
    const d = event?.diagnostics;
    const message = d?.message === undefined ? undefined : firstLine(d.message);
    const key = JSON.stringify([outcome, event?.name, d?.errorCode, d?.scriptName, message, stuckAt]);
    const existing = groups.get(key);
    if (existing !== undefined) {
      existing.group.targetIds.push(target.id);
      existing.tails.add(d?.logTail ?? '');
      continue;
    }
    const group: FailureGroup = { outcome, targetIds: [target.id], representative: target, distinctLogTails: 1 };
    if (event !== undefined) {
      group.event = event.name;
      group.representativeEvent = event;
    }
    if (d?.errorCode !== undefined) group.errorCode = d.errorCode;
    if (d?.scriptName !== undefined) group.scriptName = d.scriptName;
    if (d?.message !== undefined) group.message = d.message;
    if (stuckAt !== undefined) group.stuckAt = stuckAt;
    const verdict = findVerdict(d?.logTail);
    if (verdict !== undefined) group.verdict = verdict;
    groups.set(key, { group, tails: new Set([d?.logTail ?? '']) });
  }
  const result = [...groups.values()].map(({ group, tails }) => ({ ...group, distinctLogTails: tails.size }));
  return result.sort((a, b) => rank(a) - rank(b) || b.targetIds.length - a.targetIds.length);
}

/** The hook's own verdict: the last `portproof <Event> FAILED|OK: …` line of a log tail, the agent's prefix cut. */
export function findVerdict(logTail: string | undefined): string | undefined {
  if (logTail === undefined) return undefined;
  const lines = logTail.split(/\r?\n/).map(stripStreamPrefix).reverse();
  return lines.find((line) => /^portproof \w+ (FAILED|OK)\b/.test(line));
}

/** The agent prefixes each log-tail line with the stream it came from: `[stdout]` or `[stderr]`. */
export function stripStreamPrefix(line: string): string {
  return line.replace(/^\[(stdout|stderr)\]/, '').trim();
}

function findFailedEvent(target: TargetFacts): EventFacts | undefined {
  return (
    target.events.find((e) => e.status === 'Failed') ?? target.events.find((e) => isErrorCode(e.diagnostics?.errorCode))
  );
}

// A skipped target usually has no diagnostics at all; when one event carries a message, that is the reason.
function findExplainingEvent(target: TargetFacts): EventFacts | undefined {
  return target.events.find((e) => e.diagnostics?.message !== undefined && e.diagnostics.message !== '');
}

// A failed target with no failed event (agent not running, deployment timed out): where it stopped moving.
function findStuckEvent(target: TargetFacts): string | undefined {
  const event = target.events.find((e) => e.status !== 'Succeeded' && e.status !== 'Skipped');
  return event === undefined ? undefined : `${event.name} ${event.status}`;
}

function isErrorCode(code: string | undefined): boolean {
  return code !== undefined && code !== 'Success';
}

function rank(group: FailureGroup): number {
  return group.outcome === 'failed' ? 0 : 1;
}
