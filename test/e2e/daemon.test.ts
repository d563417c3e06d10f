// The daemon's suite (daemon-suite.ts) on the embedded SQLite journal.
import { daemonSuite } from './daemon-suite.js';

daemonSuite('sqlite');
