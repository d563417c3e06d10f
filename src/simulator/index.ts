/**
 * `dmc-trigger/simulator`: a local DMC platform (SFTP, active-only FTP, the
 * platform's pass, reports, the mail side) for tests and demos. Nothing in
 * the product's real paths imports it.
 */
export { Simulator } from './simulator.js';
export type { SimulatorOptions, JournalEntry, JournalEvent } from './simulator.js';
export type { Account, PlatformEvent } from './platform.js';
export type { Medium } from './results.js';
