/**
 * The throwaway PostgreSQL cluster of the tests (scripts/pg-cluster.sh;
 * .ci/run exports its URL as DMC_TEST_PG_URL). Without it the PostgreSQL
 * tests skip with one line saying how to run them; in CI its absence fails.
 */
import { randomBytes } from 'node:crypto';

export function pgUrl(testFile: string): string | undefined {
  const url = process.env['DMC_TEST_PG_URL'];
  if (!url && process.env['CI']) throw new Error('DMC_TEST_PG_URL is not set: .ci/run must start scripts/pg-cluster.sh and export its URL');
  if (!url)
    console.warn(
      `${testFile.split('/').pop()}: skipped, no PostgreSQL (DMC_TEST_PG_URL unset): apt-get install postgresql, then export DMC_TEST_PG_URL=$(bash scripts/pg-cluster.sh start)`,
    );
  return url;
}

/** A schema of its own for each test: tests never see each other's rows. */
export const freshSchema = (label: string): string => `t_${label.replace(/[^a-z0-9_]/g, '_')}_${randomBytes(4).toString('hex')}`;
