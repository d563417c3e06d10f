// Statistics for the benchmarks' verdicts.
//
// A loopback upload of 200 MB is bounded by the server, and on a disk-backed
// server the time a single run takes spreads by tens of percent on both
// sides (ext4 flushes the file when the server closes it). `curl` measured
// against itself with the transport benchmark's former method (the ratio of
// the medians of 9 alternated runs) gave 0.71x-1.33x, under 1.0x in 4 runs
// of 8 (#19.7): that figure said "NOT MET" half the time for a client at
// parity. So a ratio is now the median of paired ratios, stated with an
// interval from the runs themselves, and "NOT MET" means slower than the
// target beyond that noise.

/** The median of a list of numbers (the upper one of an even count). */
export function median(xs) {
  return [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
}

/**
 * The speed ratio of paired, alternated runs (times; above 1 the project is
 * faster): the median of the pairs' own ratios, baseline_i / project_i, with
 * a bootstrap interval over the pairs. A pair's two runs are next to each
 * other in time, so a drift of the machine over the run (a disk's writeback,
 * a neighbour on the host) cancels out within the pair; a ratio of the two
 * sides' medians does not cancel it: curl against itself gave 1.02x-1.38x
 * that way over five sets of 15 pairs, and 0.95x-1.13x as the median of its
 * pairs' ratios. Seeded, so an interval can be replayed.
 */
export function ratioInterval(project, baseline, { level = 0.9, resamples = 4000, seed = 19 } = {}) {
  if (project.length !== baseline.length || project.length === 0) throw new Error('ratioInterval: paired runs needed');
  const n = project.length;
  const pairs = baseline.map((b, i) => b / project[i]);
  let s = seed >>> 0;
  // mulberry32: a small seeded generator, good enough to pick indices.
  const rand = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const ratios = new Float64Array(resamples);
  const sample = new Array(n);
  for (let k = 0; k < resamples; k++) {
    for (let j = 0; j < n; j++) sample[j] = pairs[Math.floor(rand() * n)];
    ratios[k] = median(sample);
  }
  ratios.sort();
  const tail = (1 - level) / 2;
  return {
    ratio: median(pairs),
    level,
    low: ratios[Math.floor(tail * (resamples - 1))],
    high: ratios[Math.ceil((1 - tail) * (resamples - 1))],
  };
}

/**
 * The verdict on "at least `target` times the baseline's speed": met when
 * the ratio is at or above the target; met within the noise when it is
 * below but the interval reaches the target (the runs cannot tell the two
 * apart); NOT MET when the whole interval is below the target.
 */
export function atLeast({ ratio, level, low, high }, target) {
  const range = `${ratio.toFixed(2)}x, ${Math.round(100 * level)}% interval ${low.toFixed(2)}-${high.toFixed(2)}x`;
  if (ratio >= target) return `${range} (target >= ${target}x: met)`;
  if (high >= target) return `${range} (target >= ${target}x: met within the noise of the runs)`;
  return `${range} (target >= ${target}x: NOT MET)`;
}

/**
 * The lines of a benchmark's output that state a target (a verdict, met or
 * NOT MET, beside the word "target"), for the summary at the end of
 * `npm run bench`. An indented line is named after the heading it is printed
 * under, so that the summary says which figure it judges. `heading` carries
 * the last heading from one call to the next.
 */
export function targetLines(text, heading = '') {
  const lines = [];
  for (const l of String(text).split('\n')) {
    const stated = /\b(met|NOT MET)\b/.test(l) && /target/i.test(l);
    if (stated) lines.push(/^\s/.test(l) && heading ? `${heading}: ${l.trim()}` : l.trim());
    else if (l.trim() && !/^\s/.test(l)) heading = l.trim().slice(0, 80);
  }
  return { lines, heading };
}
