// The daemon's suite (daemon-suite.ts) on a PostgreSQL journal (issue #20): DMC_TEST_PG_URL, else skipped (CI fails).
import { describe } from 'vitest';
import { pgUrl } from '../helpers/pg-env.js';
import { daemonSuite } from './daemon-suite.js';

const PG = pgUrl(import.meta.url);
if (PG) daemonSuite('postgresql', PG);
else describe.skip('the daemon, on the simulator (journal on postgresql)', () => undefined);
