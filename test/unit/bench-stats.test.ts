/**
 * The benchmarks' verdict on a ratio measured from noisy runs (#19.7):
 * NOT MET only when the runs show the project slower than the target beyond
 * their own spread, and never a bare "met" for a ratio under the target.
 */
import { describe, expect, it } from 'vitest';
import { atLeast, median, ratioInterval, targetLines } from '../../bench/stats.mjs';

// Single runs of the kind a disk-backed loopback server gives for a 200 MB upload (ms): a wide spread on both sides.
const curlRuns = [212, 167, 225, 142, 218, 170, 216, 215, 190, 158, 231, 176, 204, 149, 222];

describe('bench statistics', () => {
  it('takes the median of an odd and of an even count', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(3);
  });

  it("takes the median of the pairs' own ratios, not the ratio of the two sides' medians", () => {
    // Pairs (baseline, project): (100, 50), (200, 400), (400, 400): the pairs say 2, 0.5 and 1; the medians 200 / 400.
    expect(ratioInterval([50, 400, 400], [100, 200, 400]).ratio).toBe(1);
    // A drift of the machine that both runs of each pair share cancels out: 3% faster in every pair, whatever the pace.
    const pace = [100, 180, 95, 240, 130, 300, 110, 90, 260, 150, 210, 105];
    const iv = ratioInterval(
      pace.map((ms) => ms / 1.03),
      pace,
    );
    expect(iv.ratio).toBeCloseTo(1.03, 10);
    expect(iv.low).toBeCloseTo(1.03, 10);
    expect(atLeast(iv, 1.0)).toMatch(/: met\)$/);
  });

  it('gives a ratio of 1.0x with no spread for identical runs, and calls it met', () => {
    const iv = ratioInterval(curlRuns, curlRuns);
    expect(iv).toMatchObject({ ratio: 1, low: 1, high: 1 });
    expect(atLeast(iv, 1.0)).toMatch(/target >= 1x: met\)$/);
  });

  it('calls a clear regression NOT MET: twice the time on every run', () => {
    const slow = curlRuns.map((ms, i) => ms * 2 + (i % 3) * 7);
    const iv = ratioInterval(slow, curlRuns);
    expect(iv.high).toBeLessThan(0.6);
    expect(atLeast(iv, 1.0)).toMatch(/NOT MET/);
  });

  it('calls a ratio under the target "met within the noise" only when the runs cannot tell it from the target', () => {
    // The same spread, the project's runs in another order and 3% slower: the runs overlap entirely.
    const project = [...curlRuns].reverse().map((ms) => ms * 1.03);
    const iv = ratioInterval(project, curlRuns);
    expect(iv.ratio).toBeLessThan(1);
    expect(iv.low).toBeLessThan(iv.ratio);
    expect(iv.high).toBeGreaterThanOrEqual(1);
    expect(atLeast(iv, 1.0)).toMatch(/met within the noise of the runs/);
    expect(atLeast(iv, 1.0)).not.toMatch(/NOT MET/);
    // A steady 10% gap with little spread is not noise.
    const steady = [200, 202, 199, 201, 200, 203, 198, 200, 201];
    expect(
      atLeast(
        ratioInterval(
          steady.map((ms) => ms * 1.1),
          steady,
        ),
        1.0,
      ),
    ).toMatch(/NOT MET/);
  });

  it('is seeded: the same runs give the same interval; the ratio itself does not depend on the seed', () => {
    const project = curlRuns.map((ms, i) => ms + ((i * 37) % 41) - 20);
    expect(ratioInterval(project, curlRuns)).toEqual(ratioInterval(project, curlRuns));
    const a = ratioInterval(project, curlRuns, { seed: 1 });
    const b = ratioInterval(project, curlRuns, { seed: 2 });
    expect(a.ratio).toBe(b.ratio);
  });

  it('refuses runs that are not paired', () => {
    expect(() => ratioInterval([1, 2], [1])).toThrow(/paired/);
    expect(() => ratioInterval([], [])).toThrow(/paired/);
  });

  it('names each target line of the summary after the heading it is printed under', () => {
    // bench/run.mjs's own output (#19.7): the summary said "NOT MET ratio 2.67x", not which figure.
    const first = targetLines(
      'CSV build with validation vs join + iconv-lite\n  project  442 ms\n  baseline 165 ms\n  ratio    2.67x   target <= 1.5x: NOT MET\n\nXML build vs template\n  ratio    1.21x   target <= 2x: met\n',
    );
    expect(first.lines).toEqual([
      'CSV build with validation vs join + iconv-lite: ratio    2.67x   target <= 1.5x: NOT MET',
      'XML build vs template: ratio    1.21x   target <= 2x: met',
    ]);
    // A sub-benchmark's line that is its own heading stays as it is; the heading carries over to the next output.
    const next = targetLines('split 1,000,000-row export\n  project 5129 ms', first.heading);
    const last = targetLines('  target peak RSS <= 150 MB: met\nstart-up: --version: 120 ms CPU   target < 100 ms: met', next.heading);
    expect(last.lines).toEqual(['split 1,000,000-row export: target peak RSS <= 150 MB: met', 'start-up: --version: 120 ms CPU   target < 100 ms: met']);
    expect(targetLines('  ratio 0.68x\n  ratio 1.11x').lines).toEqual([]);
  });
});
