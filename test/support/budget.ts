// Waits in tests are budgets measured from work this machine just did, not fixed times: on a loaded machine (CI on a
// developer's busy box) the work slows down and its budget with it; an idle machine still finishes early.

/** A wait's budget: `times` the time the comparable work took (`measuredMs`), and never less than `floorMs`. */
export function budgetFrom(measuredMs: number, times = 4, floorMs = 10_000): number {
  return Math.max(floorMs, Math.ceil(measuredMs * times));
}

/** Run `work` and say how long it took, so a later wait can be budgeted from it. */
export async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const startedAt = performance.now();
  const value = await work();
  return { value, ms: performance.now() - startedAt };
}
