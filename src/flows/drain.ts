import { DefaultKillWaitMs } from '../core/defaults.ts';
import { describeDrain } from '../core/drain/describe-drain.ts';
import { drainPort, type DrainReport } from '../core/drain/drain-port.ts';
import type { FreePortReport } from '../core/process/free-port.ts';
import { readListenSockets } from '../core/procfs/index.ts';
import type { HookContext } from '../runner/context.ts';

/** What freeing the target port did: the stop, and the drain before it (none when nothing listened). */
export interface StopReport extends FreePortReport {
  drain?: DrainReport;
}

/**
 * Drain the version on `port` before its stop signal, within the hook's deadline: the stop keeps the time it needs
 * (grace, then SIGKILL), or half of what is left when that does not fit. Null when nothing listens (nothing to stop).
 */
export async function drainBeforeStop(ctx: HookContext, port: number): Promise<DrainReport | null> {
  if (readListenSockets(port).length === 0) return null;
  const left = ctx.deadline.at - Date.now();
  const stopNeedsMs = Math.min(ctx.config.stop.grace + DefaultKillWaitMs, left / 2);
  const report = await drainPort(port, {
    drainMs: ctx.config.stop.drain,
    untilMs: ctx.deadline.at - stopNeedsMs,
    out: ctx.out,
  });
  ctx.log.info(
    {
      port,
      drain: {
        classified: report.classified,
        notClassified: report.notClassified,
        drainMs: report.drainMs,
        waitedMs: report.waitedMs,
        endedBy: report.endedBy,
        finished: report.finished,
        cut: report.cut,
        idle: report.idle,
        viaNginx: report.viaNginx,
        viaOldNginx: report.viaOldNginx,
        firstLookMs: report.firstLookMs,
      },
    },
    describeDrain(report),
  );
  return report;
}

/** The verdict's drain clause after the stopped processes ("; after draining 1.8 s: …"), or '' without a drain. */
export function describeDrainClause(report: StopReport): string {
  return report.drain && report.stopped.length > 0 ? `; ${describeDrain(report.drain)}` : '';
}
