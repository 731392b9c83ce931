// --json: one document with the same facts as the text report (dates as ISO strings).
import type { WhyReport } from './types.ts';

/** The report as one JSON document; `failures` mirrors the text groups, `targets` holds every target in full. */
export function renderJson(report: WhyReport, exitCode: number): string {
  const d = report.deployment;
  const from = d.startTime ?? d.createTime;
  const document = {
    deployment: {
      ...d,
      durationMs:
        d.completeTime !== undefined && from !== undefined ? d.completeTime.getTime() - from.getTime() : undefined,
    },
    source: report.source,
    exitCode,
    failures: report.groups.map((g) => ({
      outcome: g.outcome,
      count: g.targetIds.length,
      of: report.targets.length,
      event: g.event,
      errorCode: g.errorCode,
      scriptName: g.scriptName,
      message: g.message,
      stuckAt: g.stuckAt,
      verdict: g.verdict,
      targetIds: g.targetIds,
      representative: g.representative.id,
      logTail: g.representativeEvent?.diagnostics?.logTail,
      distinctLogTails: g.distinctLogTails,
    })),
    targets: report.targets,
  };
  return JSON.stringify(document, null, 2);
}
