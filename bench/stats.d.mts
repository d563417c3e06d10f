export function median(xs: readonly number[]): number;
export interface RatioInterval {
  ratio: number;
  level: number;
  low: number;
  high: number;
}
export function ratioInterval(
  project: readonly number[],
  baseline: readonly number[],
  options?: { level?: number; resamples?: number; seed?: number },
): RatioInterval;
export function atLeast(interval: RatioInterval, target: number): string;
export function targetLines(text: string, heading?: string): { lines: string[]; heading: string };
