// What a flow asks to be undone if the hook is interrupted (SIGTERM from the agent, or its own safety net) while it
// runs: ApplicationStart stops what it started but has not yet recorded as bound, rather than leave it unrecorded.

/** Undo work on interrupt; resolves to a clause for the verdict ("stopped PID 4711 (java), which this start ran"). */
export type InterruptCleanup = () => Promise<string>;

const cleanups = new Set<InterruptCleanup>();
let interrupted = false;

/** Register a cleanup for an interrupt; the returned function unregisters it once the work is safe to leave. */
export function onInterrupt(cleanup: InterruptCleanup): () => void {
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

/** Mark the hook interrupted and run every registered cleanup once; their clauses joined with "; ". */
export async function runInterruptCleanups(): Promise<string> {
  interrupted = true;
  const clauses: string[] = [];
  for (const cleanup of [...cleanups]) {
    cleanups.delete(cleanup);
    try {
      clauses.push(await cleanup());
    } catch (error) {
      // The verdict must still come: say what failed instead of losing the interrupt's own line.
      clauses.push(`cleaning up failed: ${(error as Error).message}`);
    }
  }
  return clauses.filter((c) => c !== '').join('; ');
}

/** True once an interrupt began: the flow's own verdict must not race the interrupt's. */
export function isInterrupted(): boolean {
  return interrupted;
}
