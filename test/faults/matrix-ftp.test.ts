import { afterAll, beforeAll, describe, it } from 'vitest';
import { FAULTS, Matrix, STEPS } from './matrix.js';

describe('fault matrix over active FTP: every step × every fault, each export exactly once', () => {
  const m = new Matrix('ftp');
  beforeAll(() => m.start());
  afterAll(() => m.stop());
  let i = 0;
  for (const step of STEPS)
    for (const fault of FAULTS) {
      const index = i++;
      it(`${step} × ${fault}`, async () => {
        await m.run(step, fault, index);
      }, 60_000);
    }
});
