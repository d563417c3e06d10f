/** Issue #19.3: Paris wall-clock times read back as the instants they stand for (the chart was one hour off). */
import { describe, expect, it } from 'vitest';
import { parisTime, parisWallToDate } from '../../src/formats/paris-time.js';

describe('parisWallToDate', () => {
  it('reads winter and summer times with their own offset', () => {
    expect(parisWallToDate('2027-01-15 09:00').toISOString()).toBe('2027-01-15T08:00:00.000Z');
    expect(parisWallToDate('2027-07-15 09:00:30').toISOString()).toBe('2027-07-15T07:00:30.000Z');
  });

  it('round-trips every quarter hour of a year through parisTime, the changes of time included', () => {
    for (let t = Date.UTC(2027, 0, 1); t < Date.UTC(2028, 0, 1); t += 900_000) {
      const p = parisTime(new Date(t));
      const back = parisWallToDate(`${p.date} ${p.seconds}`).getTime();
      // The repeated autumn hour reads as its first (summer-time) instant.
      expect(back === t || back === t - 3_600_000, `${new Date(t).toISOString()} -> ${p.date} ${p.seconds}`).toBe(true);
    }
  });
});
