import { formatDuration } from '../config/duration.ts';
import type { CutConnection, DrainReport } from './drain-port.ts';
import type { BusyKind } from './tally.ts';

/** How many ages a group of cut connections lists before "…": the verdict stays far below 1 KB. */
const MaxAgesListed = 3;

const Nouns: Record<BusyKind, [string, string]> = {
  request: ['request in flight', 'requests in flight'],
  stream: ['stream', 'streams'],
  'two-way stream': ['two-way stream', 'two-way streams'],
};

/**
 * What the stop did to users, for the verdict: "after draining 1.8 s: 2 requests finished; cut: 1 stream (open
 * 41 s)", "nothing in flight; cut: nothing", or that the connections were not classified and why.
 */
export function describeDrain(report: DrainReport): string {
  if (!report.classified) return `connections not classified (${report.notClassified}): what was cut is unknown`;
  const cut = describeCut(report.cut);
  const old = report.cut.filter((c) => c.via === 'old nginx worker').length;
  const through = old > 0 ? ` (${old} through old nginx workers)` : '';
  if (report.waitedMs === 0 && report.cut.length === 0) return 'nothing in flight; cut: nothing';
  if (report.drainMs === 0) return `not drained (stop.drain: 0s); cut: ${cut}${through}`;
  const finished = describeFinished(report);
  const ended =
    report.endedBy === 'deadline'
      ? `; the hook's deadline ended the drain before stop.drain (${formatDuration(report.drainMs)})`
      : report.endedBy === 'drain'
        ? `; stop.drain (${formatDuration(report.drainMs)}) ran out`
        : '';
  const how = report.waitedMs > 0 ? `after draining ${formatDuration(report.waitedMs)}` : 'without draining';
  return `${how}: ${finished}${ended}; cut: ${cut}${through}`;
}

function describeFinished(report: DrainReport): string {
  const { requests, streams } = report.finished;
  const parts = [
    requests > 0 ? `${requests} ${requests === 1 ? 'request' : 'requests'}` : '',
    streams > 0 ? `${streams} ${streams === 1 ? 'stream' : 'streams'}` : '',
  ].filter(Boolean);
  return parts.length > 0 ? `${parts.join(' and ')} finished` : 'nothing finished';
}

function describeCut(cut: CutConnection[]): string {
  if (cut.length === 0) return 'nothing';
  const groups: string[] = [];
  for (const kind of ['stream', 'two-way stream', 'request'] as const) {
    const of = cut.filter((c) => c.kind === kind);
    if (of.length === 0) continue;
    const ages = of.slice(0, MaxAgesListed).map((c) => formatDuration(c.openMs));
    const more = of.length > MaxAgesListed ? ', …' : '';
    const noun = Nouns[kind][of.length === 1 ? 0 : 1];
    groups.push(`${of.length} ${noun} (open ${ages.join(', ')}${more})`);
  }
  return groups.join(', ');
}
