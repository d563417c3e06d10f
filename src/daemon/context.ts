/**
 * What every step of the daemon shares: the configuration, the journal, the
 * logger, the hooks, the one connection to the account, and the local
 * folders of a drop folder. Steps are functions of this context.
 */
import { rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { DaemonConfig, DropFolderConfig, ResolvedConfig } from '../config/config.js';
import type { Logger } from '../transport/logger.js';
import type { Hooks } from './hooks.js';
import type { Journal } from '../store/journal.js';
import type { Link } from './link.js';
import type { StatusStore } from '../store/statuses.js';

/** What the daemon reports to its metrics (the ops server implements it; http/ is above the daemon). */
export interface DaemonMetrics {
  uploaded(bytes: number, seconds: number): void;
  pass(seconds: number, ok: boolean): void;
  reportCollected(): void;
  /** The account answered (true) or a transport fault ended the pass (false). */
  account(reachable: boolean, error?: string): void;
}

export type DaemonEventType =
  | 'taken'
  | 'duplicate'
  | 'empty'
  | 'built'
  | 'sent'
  | 'outcome'
  | 'failed'
  | 'report'
  | 'retry'
  | 'unhealthy'
  | 'recovered'
  | 'collected'
  | 'results'
  | 'leader'
  | 'standby';

export interface DaemonEvents {
  /** An input moved on, a step failed and will be retried, or a folder's health changed. */
  onEvent?: (e: { type: DaemonEventType; input?: number; name?: string; detail?: string }) => void;
}

export interface StepContext {
  readonly config: ResolvedConfig;
  readonly d: DaemonConfig;
  readonly journal: Journal;
  readonly logger: Logger;
  readonly hooks: Hooks;
  readonly link: Link;
  /** Contact statuses (push and reports) and the inputs due for a results file. */
  readonly statuses: StatusStore;
  /** Counters and timings for /metrics (no-ops without daemon.http). */
  readonly metrics: DaemonMetrics;
  readonly events: DaemonEvents;
  readonly now: () => Date;
  /** When the last trigger went up (at most `rate` a second). */
  readonly pace: { lastUpload: number };
  stopping(): boolean;
  folderOf(path: string): DropFolderConfig | undefined;
  /** Wakes the worker (a new input was taken). */
  wake(): void;
}

/** The folders the daemon keeps inside a drop folder. */
export const dirs = (folder: string): { work: string; sent: string; failed: string } => ({
  work: join(folder, 'work'),
  sent: join(folder, 'sent'),
  failed: join(folder, 'failed'),
});

/** Renames when the source is there; false when it is not (already moved). */
export async function moveIfThere(from: string, to: string): Promise<boolean> {
  try {
    await rename(from, to);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

export const exists = (path: string): Promise<boolean> =>
  stat(path).then(
    () => true,
    () => false,
  );

export { printable } from '../formats/printable.js';
