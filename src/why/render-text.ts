// The terminal report: the deployment, then each group of identical failures with one log tail, then one summary line.
import { firstLine } from './errors.ts';
import { formatDuration } from '../core/config/duration.ts';
import { describeOverview, formatTime, pluralize, wrapList } from './format.ts';
import type { DeploymentFacts, FailureGroup, TargetFacts, WhyReport } from './types.ts';
import { isFinalStatus } from './wait.ts';

/** Render a report as lines for stdout; the last line is the summary. */
export function renderText(report: WhyReport): string[] {
  const noun = nounFor(report.targets);
  const lines = renderDeployment(report.deployment, noun);
  if (report.source === 'instances')
    lines.push('  (per-instance facts from the older instance APIs: this deployment predates deployment targets)');
  for (const group of report.groups) lines.push('', ...renderGroup(group, report.targets.length, noun));
  if (report.groups.length === 0)
    lines.push('', report.source === 'none' ? `no ${noun} has started yet` : `no failed or skipped ${noun}s`);
  lines.push('', summarize(report, noun));
  return lines;
}

/** The header block: status, names, timings, the deployment's error and its counts. */
export function renderDeployment(d: DeploymentFacts, noun: string): string[] {
  const lines = [`deployment ${d.id}: ${d.status}`];
  const names = [
    d.application && `application ${d.application}`,
    d.group && `group ${d.group}`,
    d.config && `config ${d.config}`,
  ].filter(Boolean);
  if (names.length > 0) lines.push(`  ${names.join(', ')}${d.deploymentType ? ` (${d.deploymentType})` : ''}`);
  if (d.revision !== undefined) lines.push(`  revision ${d.revision}`);
  const timing = describeTiming(d);
  if (timing !== '') lines.push(`  ${timing}`);
  if (d.description !== undefined && d.description !== '') lines.push(`  description: ${firstLine(d.description)}`);
  if (d.error !== undefined) lines.push(`  error: ${[d.error.code, d.error.message].filter(Boolean).join(': ')}`);
  for (const message of d.statusMessages) lines.push(`  status message: ${firstLine(message)}`);
  if (d.rollback?.deploymentId !== undefined)
    lines.push(`  rolled back by ${d.rollback.deploymentId}${d.rollback.message ? `: ${d.rollback.message}` : ''}`);
  if (d.rollback?.triggeredBy !== undefined) lines.push(`  rollback of ${d.rollback.triggeredBy}`);
  lines.push(`  ${noun}s: ${describeOverview(d.overview)}`);
  return lines;
}

/**
 * One group: `7 of 10 instances: ValidateService failed (ScriptFailed) in hooks/validate: …`, ids, verdict, log tail.
 */
export function renderGroup(group: FailureGroup, total: number, noun: string): string[] {
  const count = group.targetIds.length;
  const lines = [`${count} of ${total} ${pluralize(total, noun)}: ${describeFailure(group, true)}`];
  lines.push(...wrapList(pluralize(count, noun), group.targetIds, '  '));
  const rest = (group.message ?? '')
    .split(/\r?\n/)
    .slice(1)
    .filter((l) => l.trim() !== '');
  for (const line of rest) lines.push(`  | ${line}`);
  if (group.verdict !== undefined) lines.push(`  verdict: ${group.verdict}`);
  const event = group.representativeEvent;
  if (event?.diagnostics?.logTail === undefined) return lines;
  const about = [event.name];
  if (event.startTime !== undefined && event.endTime !== undefined)
    about.push(formatDuration(event.endTime.getTime() - event.startTime.getTime(), 'clock'));
  if (count > 1)
    about.push(
      group.distinctLogTails === 1
        ? `same tail on all ${count}`
        : `${group.distinctLogTails} different tails among ${count}`,
    );
  lines.push(`  log tail of ${group.representative.id} (${about.join('; ')}):`);
  const tail = event.diagnostics.logTail.replace(/\s+$/, '');
  lines.push(...(tail === '' ? ['    (empty)'] : tail.split(/\r?\n/).map((line) => `    ${line}`)));
  return lines;
}

/** `ValidateService failed (ScriptFailed) in hooks/validate[: first message line]`, or why a target was skipped. */
export function describeFailure(group: FailureGroup, withMessage: boolean): string {
  const message =
    withMessage && group.message !== undefined && group.message !== '' ? `: ${firstLine(group.message)}` : '';
  if (group.outcome === 'skipped')
    return `skipped${group.event === undefined ? ' (no lifecycle event ran)' : ` at ${group.event}`}${message}`;
  if (group.event === undefined) {
    const stuck = group.stuckAt === undefined ? '' : ` (stopped at ${group.stuckAt})`;
    return `failed with no failed lifecycle event${stuck}`;
  }
  const code = group.errorCode === undefined ? '' : ` (${group.errorCode})`;
  const script = group.scriptName === undefined || group.scriptName === '' ? '' : ` in ${group.scriptName}`;
  return `${group.event} failed${code}${script}${message}`;
}

/** The last line: status, counts, and the largest failure. */
export function summarize(report: WhyReport, noun: string): string {
  const o = report.deployment.overview;
  const counts: Array<[number, string]> = [
    [o.failed, 'failed'],
    [o.skipped, 'skipped'],
    [o.succeeded, 'succeeded'],
    [o.inProgress, 'in progress'],
    [o.pending, 'pending'],
    [o.ready, 'ready'],
  ];
  const total = counts.reduce((sum, [n]) => sum + n, 0) || report.targets.length;
  const phrase = counts
    .filter(([n]) => n > 0)
    .map(([n, what]) => `${n} ${what}`)
    .join(', ');
  let line = `portproof why ${report.deployment.id}: ${report.deployment.status}`;
  if (phrase !== '') line += `: ${phrase} of ${total} ${pluralize(total, noun)}`;
  const top = report.groups.find((g) => g.outcome === 'failed');
  if (top !== undefined) line += `; ${describeFailure(top, false)} on ${top.targetIds.length}`;
  if (!isFinalStatus(report.deployment.status)) line += ' (still running: --wait follows it to the end)';
  return line;
}

function describeTiming(d: DeploymentFacts): string {
  const parts: string[] = [];
  if (d.createTime !== undefined)
    parts.push(`created ${formatTime(d.createTime)}${d.creator ? ` by ${d.creator}` : ''}`);
  if (d.startTime !== undefined) parts.push(`started ${formatTime(d.startTime, d.createTime)}`);
  if (d.completeTime !== undefined) {
    const from = d.startTime ?? d.createTime;
    const tookMs = from === undefined ? null : d.completeTime.getTime() - from.getTime();
    const took = tookMs === null ? '' : ` after ${formatDuration(tookMs, 'clock')}`;
    parts.push(`completed ${formatTime(d.completeTime, d.createTime)}${took}`);
  }
  return parts.join('; ');
}

function nounFor(targets: TargetFacts[]): string {
  const kinds = new Set(targets.map((t) => t.kind));
  if (kinds.size === 0 || (kinds.size === 1 && kinds.has('instance'))) return 'instance';
  if (kinds.size === 1 && kinds.has('ecs')) return 'ECS target';
  if (kinds.size === 1 && kinds.has('lambda')) return 'Lambda target';
  if (kinds.size === 1 && kinds.has('cloudformation')) return 'CloudFormation target';
  return 'target';
}
