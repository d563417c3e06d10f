/**
 * `dmc-trigger/daemon`: the drop-folder daemon (docs/operations.md) and its
 * journal, read-only for status tools.
 */
export { Daemon } from './daemon.js';
export type { DaemonOptions, DaemonEvents } from './daemon.js';
export { AccountDaemons } from './accounts.js';
export type { AccountDaemonsOptions, SkippedAccount } from './accounts.js';
export { Journal, JournalError, JournalLockedError } from '../store/journal.js';
export type { InputRow, TriggerRow, ReportRow, Transition, InputState, TriggerState } from '../store/journal.js';
export { INPUT_STATES, TRIGGER_STATES, INPUT_TRANSITIONS, TRIGGER_TRANSITIONS, RESTART, stateDiagram } from '../store/states.js';
export { startPushReceiver } from '../http/push-receiver.js';
export type { PushReceiver, PushReceiverOptions, PushCounters } from '../http/push-receiver.js';
export { StatusStore } from '../store/statuses.js';
export type { ContactResultRow, JoinResult, ResultLookup, RecordedPush, FinalStatus } from '../store/statuses.js';
export { writeResultsFile, RESULT_COLUMNS } from '../results/results-file.js';
export { NotRegularFileError } from '../files/no-follow.js';
export type { ResultsSummary, ResultsFileOptions } from '../results/results-file.js';
