import { cutLine } from '../text/clean-line.ts';
import type { ProbeAnswer } from './probe.ts';

/** What counts as healthy: a status (default any 2xx) and optionally a body substring. */
export interface HealthExpectation {
  expectStatus?: number | undefined;
  expectBody?: string | undefined;
}

/** Why an answer is not healthy, or null when it is (including proof it came from the new process). */
export function judgeAnswer(answer: ProbeAnswer, expect: HealthExpectation): string | null {
  if (answer.error !== null) return answer.error;
  if (answer.attribution !== null) return answer.attribution;
  const status = answer.status ?? 0;
  const statusOk = expect.expectStatus === undefined ? status >= 200 && status < 300 : status === expect.expectStatus;
  if (!statusOk) return `HTTP ${status}${answer.body ? ` ${cutLine(answer.body.trim(), 120)}` : ''}`;
  if (expect.expectBody !== undefined && !answer.body.includes(expect.expectBody)) {
    const body = cutLine(answer.body.trim(), 120);
    return `HTTP ${status} but the body lacks ${JSON.stringify(expect.expectBody)}: ${body}`;
  }
  return null;
}
