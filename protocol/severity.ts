/** How far over the slow threshold a duration is, one rule for the editor's tints and the timeline's bars. */
export const SEVERITY_FACTORS = [1, 4, 10] as const;

/** -1 under the threshold, else the index of the highest factor of it that `ms` reaches (0, 1 or 2). */
export function severityLevel(ms: number, thresholdMs: number): number {
  let found = -1;
  SEVERITY_FACTORS.forEach((factor, i) => {
    if (ms >= factor * thresholdMs) found = i;
  });
  return found;
}
