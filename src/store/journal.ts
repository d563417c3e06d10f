/**
 * The daemon's durable journal (SQLite through better-sqlite3, WAL,
 * synchronous=FULL): one row per input, per trigger file and per report.
 * Every state change is committed before the action it allows, so a daemon
 * killed at any point resumes each item from its state.
 *
 * The states and their allowed transitions are the tables of states.ts;
 * `setInput` and `setTrigger` refuse any other. A final input is `settled`
 * once its files are in sent/ or failed/: a pass reads only what is not.
 * Report states: downloaded → acked. Hook events wait in an outbox until
 * delivered (at least once). Folder health is recorded for `status`.
 */
import { existsSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync, closeSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { checkTransition, type InputState, type TriggerState } from './states.js';

/** The statuses' tables (store/statuses.ts reads and writes them). */
const STATUS_SCHEMA = `
CREATE TABLE IF NOT EXISTS push_statuses (
  id INTEGER PRIMARY KEY, medium TEXT NOT NULL, broadcast_id TEXT NOT NULL, contact_id TEXT NOT NULL, call_id TEXT NOT NULL,
  type TEXT NOT NULL, date TEXT NOT NULL, seq INTEGER NOT NULL, address TEXT NOT NULL, ref TEXT NOT NULL, space_id TEXT NOT NULL,
  username TEXT NOT NULL, code TEXT, info TEXT, detail TEXT, received_at TEXT NOT NULL,
  UNIQUE (medium, broadcast_id, contact_id, call_id, type, date)
);
CREATE TABLE IF NOT EXISTS contact_results (
  broadcast_id TEXT NOT NULL, contact_id TEXT NOT NULL, medium TEXT NOT NULL, address TEXT NOT NULL, ref TEXT NOT NULL,
  status TEXT NOT NULL, final TEXT NOT NULL, code TEXT, label TEXT, date TEXT NOT NULL, sort TEXT NOT NULL, source TEXT NOT NULL,
  updated_at TEXT NOT NULL, address_key TEXT NOT NULL, PRIMARY KEY (broadcast_id, contact_id, medium)
);
CREATE INDEX IF NOT EXISTS contact_results_ref ON contact_results(ref, broadcast_id);
CREATE INDEX IF NOT EXISTS contact_results_address ON contact_results(address_key, broadcast_id);
CREATE TABLE IF NOT EXISTS results_due (input_id INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS results_files (
  input_id INTEGER PRIMARY KEY, path TEXT, summary TEXT NOT NULL, final INTEGER NOT NULL, written_at TEXT NOT NULL
);
`;

export type { InputState, TriggerState } from './states.js';

/** A committed state change (after the commit): what the kill-at-transition tests name. */
export interface Transition {
  readonly what: 'input' | 'trigger';
  readonly id: number;
  readonly from: string;
  readonly to: string;
}

export interface JournalOptions {
  /** Called after each state change is committed, before the daemon acts on it. */
  readonly onTransition?: (t: Transition) => void;
}

export interface InputRow {
  id: number;
  folder: string;
  name: string;
  hash: string;
  size: number;
  state: InputState;
  /** `command`: a sidecar that belonged to no export waiting in the folder (refused, never sent). */
  kind: 'export' | 'trigger' | 'document' | 'command';
  work_path: string;
  created_at: string;
  updated_at: string;
  attempts: number;
  last_error: string | null;
  duplicate_of: number | null;
  /** The input whose triggers carry this one's contacts (grouping); its own id for the leader; -1: built alone. */
  group_leader: number | null;
  /** 1 once a final input's files are in sent/ or failed/. */
  settled: number;
  /** 1 once the documents dropped with it (or configured) were sent and taken. */
  documents_sent: number;
  /** When the file was last seen to change after it was taken (a writer still appending). */
  changed_at: string | null;
  /** Rows left out under partial acceptance (their lines and reasons: `rejectedRows`). */
  rejected: number;
  /** What the build changed or said without refusing anything (transliterations, rows left out...), one per line; null: nothing. */
  warnings: string | null;
}

export interface TriggerRow {
  id: number;
  input_id: number;
  part: number;
  local_path: string;
  remote_name: string;
  contacts: number;
  state: TriggerState;
  outcome: string | null;
  /** The platform's broadcast number, learnt from the reports. */
  broadcast_id: string | null;
  updated_at: string;
  attempts: number;
  last_error: string | null;
}

export interface ReportRow {
  name: string;
  size: number;
  state: 'downloaded' | 'acked';
  local_path: string;
  updated_at: string;
}

export interface FolderHealthRow {
  path: string;
  healthy: number;
  error: string | null;
  since: string;
}

export interface HookOutboxRow {
  id: number;
  event_id: string;
  /** SHA-256 of the hook's command and URL: the delivery goes to the hook configured so, if still there. */
  hook: string;
  payload: string;
  state: 'pending' | 'delivered' | 'dead';
  attempts: number;
  next_at: string;
  last_error: string | null;
  created_at: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS inputs (
  id INTEGER PRIMARY KEY, folder TEXT NOT NULL, name TEXT NOT NULL, hash TEXT NOT NULL, size INTEGER NOT NULL,
  state TEXT NOT NULL, kind TEXT NOT NULL, work_path TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, duplicate_of INTEGER
);
CREATE INDEX IF NOT EXISTS inputs_hash ON inputs(folder, hash);
CREATE INDEX IF NOT EXISTS inputs_state ON inputs(state);
CREATE TABLE IF NOT EXISTS triggers (
  id INTEGER PRIMARY KEY, input_id INTEGER NOT NULL REFERENCES inputs(id), part INTEGER NOT NULL, local_path TEXT NOT NULL,
  remote_name TEXT NOT NULL UNIQUE, contacts INTEGER NOT NULL, state TEXT NOT NULL, outcome TEXT, updated_at TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT
);
CREATE INDEX IF NOT EXISTS triggers_state ON triggers(state);
CREATE TABLE IF NOT EXISTS reports (name TEXT PRIMARY KEY, size INTEGER NOT NULL, state TEXT NOT NULL, local_path TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS resends (folder TEXT NOT NULL, hash TEXT NOT NULL, asked_at TEXT NOT NULL, of_input INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS trigger_refs (trigger_id INTEGER NOT NULL REFERENCES triggers(id), ref TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS trigger_refs_ref ON trigger_refs(ref);
CREATE TABLE IF NOT EXISTS folders (path TEXT PRIMARY KEY, healthy INTEGER NOT NULL, error TEXT, since TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS hook_outbox (
  id INTEGER PRIMARY KEY, event_id TEXT NOT NULL, hook TEXT NOT NULL, payload TEXT NOT NULL, state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0, next_at TEXT NOT NULL, last_error TEXT, created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS hook_outbox_due ON hook_outbox(state, next_at);
CREATE TABLE IF NOT EXISTS rejected_rows (input_id INTEGER NOT NULL REFERENCES inputs(id), line INTEGER NOT NULL, reason TEXT NOT NULL, PRIMARY KEY (input_id, line));
CREATE TABLE IF NOT EXISTS report_summaries (name TEXT PRIMARY KEY, size INTEGER NOT NULL, summary TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS intake_errors (path TEXT PRIMARY KEY, error TEXT NOT NULL, attempts INTEGER NOT NULL, at TEXT NOT NULL);
`;

const now = (): string => new Date().toISOString();

export class Journal {
  readonly db: Database.Database;
  private readonly lockPath: string;

  /** Whether a journal file exists at `path` (status and retry before the daemon ever ran). */
  static exists(path: string): boolean {
    return existsSync(path);
  }

  /**
   * Opens (creating) the journal. `daemon` takes the one-daemon lock;
   * `readonly` (status) and `shared` (retry, resend: SQLite serializes their
   * writes with the daemon's) take none; `receiver` (a push receiver run
   * on its own) creates the journal if needed and takes no lock either.
   */
  private readonly committed: Transition[] = [];

  constructor(
    readonly path: string,
    private readonly mode: 'daemon' | 'readonly' | 'shared' | 'receiver' = 'daemon',
    private readonly opts: JournalOptions = {},
  ) {
    this.lockPath = `${path}.lock`;
    if (mode === 'readonly' || mode === 'shared') {
      this.db = openDatabase(path, { readonly: mode === 'readonly', fileMustExist: true });
      if (mode === 'shared') {
        this.db.pragma('busy_timeout = 10000');
        // Synchronous is per connection: a write here is as durable as the daemon's.
        this.db.pragma('synchronous = FULL');
      }
      return;
    }
    mkdirSync(dirname(path), { recursive: true });
    if (mode === 'daemon') takeLock(this.lockPath);
    try {
      this.db = openDatabase(path);
    } catch (e) {
      if (mode === 'daemon') {
        HELD.delete(this.lockPath);
        try {
          unlinkSync(this.lockPath);
        } catch {
          /* gone */
        }
      }
      throw e;
    }
    try {
      this.db.pragma('busy_timeout = 10000');
      this.db.pragma('journal_mode = WAL');
      // FULL: a commit is fsynced before it returns (NORMAL in WAL mode would not be, and a power cut could lose it).
      this.db.pragma('synchronous = FULL');
      this.db.pragma('foreign_keys = ON');
      this.db.exec(SCHEMA);
      this.db.exec(STATUS_SCHEMA);
      // Journals created before grouping existed get the column.
      const cols = (this.db.prepare('PRAGMA table_info(inputs)').all() as { name: string }[]).map((c) => c.name);
      if (!cols.includes('group_leader')) this.db.exec('ALTER TABLE inputs ADD COLUMN group_leader INTEGER');
      const tcols = (this.db.prepare('PRAGMA table_info(triggers)').all() as { name: string }[]).map((c) => c.name);
      if (!tcols.includes('broadcast_id')) this.db.exec('ALTER TABLE triggers ADD COLUMN broadcast_id TEXT');
      if (!cols.includes('settled')) this.db.exec('ALTER TABLE inputs ADD COLUMN settled INTEGER NOT NULL DEFAULT 0');
      if (!cols.includes('documents_sent')) this.db.exec('ALTER TABLE inputs ADD COLUMN documents_sent INTEGER NOT NULL DEFAULT 0');
      if (!cols.includes('changed_at')) this.db.exec('ALTER TABLE inputs ADD COLUMN changed_at TEXT');
      if (!cols.includes('rejected')) this.db.exec('ALTER TABLE inputs ADD COLUMN rejected INTEGER NOT NULL DEFAULT 0');
      if (!cols.includes('warnings')) this.db.exec('ALTER TABLE inputs ADD COLUMN warnings TEXT');
      this.db.exec('CREATE INDEX IF NOT EXISTS inputs_unsettled ON inputs(settled, state)');
    } catch (e) {
      this.close();
      throw journalError(path, e);
    }
  }

  /** Reports the transitions committed (after the outermost transaction). */
  private flush(): void {
    if (this.db.inTransaction) return;
    const done = this.committed.splice(0);
    for (const t of done) this.opts.onTransition?.(t);
  }

  close(): void {
    this.db.close();
    if (this.mode !== 'daemon') return;
    HELD.delete(this.lockPath);
    try {
      unlinkSync(this.lockPath);
    } catch {
      /* already gone */
    }
  }

  tx<T>(fn: () => T): T {
    try {
      return this.db.transaction(fn)();
    } catch (e) {
      if (!this.db.inTransaction) this.committed.length = 0;
      throw e;
    } finally {
      this.flush();
    }
  }

  findByHash(folder: string, hash: string): InputRow | undefined {
    return (
      this.db
        // A retried input never reached the platform (retry refuses otherwise): its content taken again is not a duplicate.
        .prepare(`SELECT * FROM inputs WHERE folder = ? AND hash = ? AND state NOT IN ('failed', 'duplicate', 'retried') ORDER BY id LIMIT 1`)
        .get(folder, hash) as InputRow | undefined
    );
  }

  /** Records a new input; its work path is derived from its id, so it is known before the file moves. */
  addInput(i: {
    folder: string;
    name: string;
    hash: string;
    size: number;
    kind: InputRow['kind'];
    workDir: string;
    state?: InputState;
    duplicateOf?: number;
  }): InputRow {
    return this.tx(() => {
      const t = now();
      const r = this.db
        .prepare(
          `INSERT INTO inputs (folder, name, hash, size, state, kind, work_path, created_at, updated_at, duplicate_of) VALUES (?, ?, ?, ?, ?, ?, '', ?, ?, ?)`,
        )
        .run(i.folder, i.name, i.hash, i.size, i.state ?? 'seen', i.kind, t, t, i.duplicateOf ?? null);
      const id = Number(r.lastInsertRowid);
      const workPath = `${i.workDir}/${String(id).padStart(6, '0')}-${i.name}`;
      // A duplicate is refused as it is recorded: nothing of it is ever sent.
      this.db.prepare('UPDATE inputs SET work_path = ? WHERE id = ?').run(workPath, id);
      this.committed.push({ what: 'input', id, from: 'new', to: i.state ?? 'seen' });
      return this.input(id)!;
    });
  }

  input(id: number): InputRow | undefined {
    return this.db.prepare('SELECT * FROM inputs WHERE id = ?').get(id) as InputRow | undefined;
  }

  /** Moves an input to `state` (allowed transitions only); `error` records why, and counts an attempt. */
  setInput(id: number, state: InputState, error?: string): void {
    const from = (this.db.prepare('SELECT state FROM inputs WHERE id = ?').get(id) as { state: InputState } | undefined)?.state;
    if (from === undefined) throw new Error(`journal: no input #${id}`);
    checkTransition('input', id, from, state);
    this.db
      .prepare(
        'UPDATE inputs SET state = ?, updated_at = ?, last_error = COALESCE(?, last_error), attempts = attempts + (CASE WHEN ? IS NULL THEN 0 ELSE 1 END) WHERE id = ?',
      )
      .run(state, now(), error ?? null, error ?? null, id);
    if (from !== state) this.committed.push({ what: 'input', id, from, to: state });
    this.flush();
  }

  /** The newest input of a folder whose name passes `match` (among its 200 newest of that folder). */
  lastInputWhere(folder: string, match: (name: string) => boolean): InputRow | undefined {
    const rows = this.db.prepare("SELECT * FROM inputs WHERE folder = ? AND kind != 'command' ORDER BY id DESC LIMIT 200").all(folder) as InputRow[];
    return rows.find((r) => match(r.name));
  }

  /** Records a failed attempt at an input's current step; returns the attempts so far. */
  recordError(id: number, error: string): number {
    this.db.prepare('UPDATE inputs SET last_error = ?, attempts = attempts + 1, updated_at = ? WHERE id = ?').run(error.slice(0, 4000), now(), id);
    return this.input(id)?.attempts ?? 0;
  }

  /** Inputs in these states that are still actionable (final inputs once settled are not). */
  inputsIn(...states: InputState[]): InputRow[] {
    return this.db.prepare(`SELECT * FROM inputs WHERE settled = 0 AND state IN (${states.map(() => '?').join(',')}) ORDER BY id`).all(...states) as InputRow[];
  }

  /** A final input whose files are where they belong: no pass reads it again. */
  settle(id: number): void {
    this.db.prepare('UPDATE inputs SET settled = 1 WHERE id = ?').run(id);
  }

  /** The file changed after it was taken: its new size and hash, and when. */
  noteChanged(id: number, size: number, hash: string): void {
    this.db.prepare('UPDATE inputs SET size = ?, hash = ?, changed_at = ?, updated_at = ? WHERE id = ?').run(size, hash, now(), now(), id);
  }

  /** What a build said without refusing: the rows it left out and its warnings (with the triggers, in one transaction). */
  recordBuildNotes(id: number, rejected: readonly { line: number; reason: string }[], warnings: string | undefined): void {
    this.tx(() => {
      const add = this.db.prepare('INSERT OR REPLACE INTO rejected_rows (input_id, line, reason) VALUES (?, ?, ?)');
      for (const r of rejected) add.run(id, r.line, r.reason.slice(0, 1000));
      this.db.prepare('UPDATE inputs SET rejected = ?, warnings = ? WHERE id = ?').run(rejected.length, warnings?.slice(0, 4000) ?? null, id);
    });
  }

  /** The rows of an input left out under partial acceptance, by export line. */
  rejectedRows(id: number): Map<number, string> {
    const rows = this.db.prepare('SELECT line, reason FROM rejected_rows WHERE input_id = ?').all(id) as { line: number; reason: string }[];
    return new Map(rows.map((r) => [r.line, r.reason]));
  }

  setDocumentsSent(id: number): void {
    this.db.prepare('UPDATE inputs SET documents_sent = 1 WHERE id = ?').run(id);
  }

  /** Forms a group: the leader's triggers carry every member's contacts (one transaction with the triggers). */
  addGroup(leaderId: number, memberIds: readonly number[], parts: { localPath: string; remoteName: string; contacts: number }[]): void {
    this.tx(() => {
      const set = this.db.prepare('UPDATE inputs SET group_leader = ? WHERE id = ?');
      for (const id of memberIds) {
        set.run(leaderId, id);
        this.setInput(id, 'built');
      }
      this.addTriggers(leaderId, parts);
    });
  }

  /** Marks inputs to be built alone (a grouped build failed: each is then judged on its own). */
  buildAlone(ids: readonly number[]): void {
    this.tx(() => {
      for (const id of ids) this.db.prepare('UPDATE inputs SET group_leader = -1 WHERE id = ?').run(id);
    });
  }

  /**
   * Records the built trigger files (with their contacts' external
   * references, to link the broadcasts later) and moves the input to `built`,
   * in one transaction.
   */
  addTriggers(inputId: number, parts: { localPath: string; remoteName: string; contacts: number; refs?: readonly string[] }[]): void {
    this.tx(() => {
      const ins = this.db.prepare(
        "INSERT INTO triggers (input_id, part, local_path, remote_name, contacts, state, updated_at) VALUES (?, ?, ?, ?, ?, 'built', ?)",
      );
      const ref = this.db.prepare('INSERT INTO trigger_refs (trigger_id, ref) VALUES (?, ?)');
      parts.forEach((p, k) => {
        const id = Number(ins.run(inputId, k + 1, p.localPath, p.remoteName, p.contacts, now()).lastInsertRowid);
        for (const r of new Set(p.refs ?? [])) ref.run(id, r);
      });
      this.setInput(inputId, 'built');
    });
  }

  /**
   * Links report lines and push statuses to triggers: each (externalReference,
   * broadcastId) gives its broadcast number to the most recent trigger
   * holding that reference and not yet linked; an address (`@<normalized>`)
   * to the one unlinked trigger holding it, if only one does. Returns the
   * triggers linked.
   */
  linkBroadcasts(lines: Iterable<{ ref: string; broadcastId: string }>): number[] {
    const linked = new Set<number>();
    this.tx(() => {
      const known = this.db.prepare('SELECT t.id FROM triggers t JOIN trigger_refs r ON r.trigger_id = t.id WHERE r.ref = ? AND t.broadcast_id = ? LIMIT 1');
      const find = this.db.prepare(
        'SELECT t.id FROM triggers t JOIN trigger_refs r ON r.trigger_id = t.id WHERE r.ref = ? AND t.broadcast_id IS NULL ORDER BY t.id DESC LIMIT 1',
      );
      // An address (`@...`) links only when one unlinked trigger holds it: two exports to the same number stay apart.
      const findAddress = this.db.prepare(
        'SELECT DISTINCT t.id FROM triggers t JOIN trigger_refs r ON r.trigger_id = t.id WHERE r.ref = ? AND t.broadcast_id IS NULL LIMIT 2',
      );
      const set = this.db.prepare('UPDATE triggers SET broadcast_id = ? WHERE id = ?');
      for (const l of lines) {
        if (!l.ref || known.get(l.ref, l.broadcastId)) continue;
        const candidates = l.ref.startsWith('@') ? (findAddress.all(l.ref) as { id: number }[]) : [];
        const row = l.ref.startsWith('@') ? (candidates.length === 1 ? candidates[0] : undefined) : (find.get(l.ref) as { id: number } | undefined);
        if (row) {
          set.run(l.broadcastId, row.id);
          linked.add(row.id);
        }
      }
    });
    return [...linked];
  }

  triggersOf(inputId: number): TriggerRow[] {
    return this.db.prepare('SELECT * FROM triggers WHERE input_id = ? ORDER BY part').all(inputId) as TriggerRow[];
  }

  trigger(id: number): TriggerRow | undefined {
    return this.db.prepare('SELECT * FROM triggers WHERE id = ?').get(id) as TriggerRow | undefined;
  }

  /** Triggers in these states whose input is still actionable. */
  triggersIn(...states: TriggerState[]): TriggerRow[] {
    return this.db
      .prepare(
        `SELECT t.* FROM triggers t JOIN inputs i ON i.id = t.input_id WHERE i.settled = 0 AND t.state IN (${states.map(() => '?').join(',')}) ORDER BY t.id`,
      )
      .all(...states) as TriggerRow[];
  }

  setTrigger(id: number, state: TriggerState, extra: { outcome?: string; error?: string } = {}): void {
    const from = this.trigger(id)?.state;
    if (from === undefined) throw new Error(`journal: no trigger #${id}`);
    checkTransition('trigger', id, from, state);
    this.db
      .prepare(
        'UPDATE triggers SET state = ?, outcome = COALESCE(?, outcome), last_error = COALESCE(?, last_error), attempts = attempts + (CASE WHEN ? IS NULL THEN 0 ELSE 1 END), updated_at = ? WHERE id = ?',
      )
      .run(state, extra.outcome ?? null, extra.error ?? null, extra.error ?? null, now(), id);
    if (from !== state) this.committed.push({ what: 'trigger', id, from, to: state });
    this.flush();
  }

  report(name: string): ReportRow | undefined {
    return this.db.prepare('SELECT * FROM reports WHERE name = ?').get(name) as ReportRow | undefined;
  }

  setReport(r: Omit<ReportRow, 'updated_at'>): void {
    this.db
      .prepare(
        'INSERT INTO reports (name, size, state, local_path, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET size = excluded.size, state = excluded.state, local_path = excluded.local_path, updated_at = excluded.updated_at',
      )
      .run(r.name, r.size, r.state, r.local_path, now());
  }

  /** Asks that the next input of this content in this folder be sent even though it was sent before. */
  askResend(folder: string, hash: string, ofInput: number): void {
    this.db.prepare('INSERT INTO resends (folder, hash, asked_at, of_input) VALUES (?, ?, ?, ?)').run(folder, hash, now(), ofInput);
  }

  /** Consumes a resend request for this content; true when there was one. */
  takeResend(folder: string, hash: string): boolean {
    return this.db.prepare('DELETE FROM resends WHERE rowid = (SELECT rowid FROM resends WHERE folder = ? AND hash = ? LIMIT 1)').run(folder, hash).changes > 0;
  }

  /** For the given triggers: their broadcast numbers and the inputs they came from. */
  broadcastLinks(triggerIds: readonly number[]): { broadcastId: string; remoteName: string; input: { id: number; name: string; folder: string } }[] {
    if (triggerIds.length === 0) return [];
    return (
      this.db
        .prepare(
          `SELECT t.broadcast_id b, t.remote_name r, i.id id, i.name n, i.folder f FROM triggers t JOIN inputs i ON i.id = t.input_id WHERE t.id IN (${triggerIds.map(() => '?').join(',')})`,
        )
        .all(...triggerIds) as { b: string; r: string; id: number; n: string; f: string }[]
    ).map((x) => ({ broadcastId: x.b, remoteName: x.r, input: { id: x.id, name: x.n, folder: x.f } }));
  }

  /** Records a drop folder's health (status shows it); true when it changed. */
  setFolderHealth(path: string, healthy: boolean, error?: string): boolean {
    const prev = this.db.prepare('SELECT healthy FROM folders WHERE path = ?').get(path) as { healthy: number } | undefined;
    if (prev && prev.healthy === (healthy ? 1 : 0) && healthy) return false;
    this.db
      .prepare(
        'INSERT INTO folders (path, healthy, error, since) VALUES (?, ?, ?, ?) ON CONFLICT(path) DO UPDATE SET healthy = excluded.healthy, error = excluded.error, since = CASE WHEN folders.healthy = excluded.healthy THEN folders.since ELSE excluded.since END',
      )
      .run(path, healthy ? 1 : 0, error ?? null, now());
    return !prev || prev.healthy !== (healthy ? 1 : 0);
  }

  /** A file the watcher found complete but that could not be taken (retried; status shows it). */
  recordIntakeError(path: string, error: string): void {
    this.db
      .prepare(
        'INSERT INTO intake_errors (path, error, attempts, at) VALUES (?, ?, 1, ?) ON CONFLICT(path) DO UPDATE SET error = excluded.error, attempts = intake_errors.attempts + 1, at = excluded.at',
      )
      .run(path, error.slice(0, 1000), now());
  }

  clearIntakeError(path: string): void {
    this.db.prepare('DELETE FROM intake_errors WHERE path = ?').run(path);
  }

  intakeErrors(): { path: string; error: string; attempts: number; at: string }[] {
    return this.db.prepare('SELECT * FROM intake_errors ORDER BY path').all() as { path: string; error: string; attempts: number; at: string }[];
  }

  folders(): FolderHealthRow[] {
    return this.db.prepare('SELECT * FROM folders ORDER BY path').all() as FolderHealthRow[];
  }

  /** Puts a hook delivery in the outbox (in the caller's transaction, with the state change it reports). */
  enqueueHook(eventId: string, hook: string, payload: string): void {
    this.db
      .prepare("INSERT INTO hook_outbox (event_id, hook, payload, state, next_at, created_at) VALUES (?, ?, ?, 'pending', ?, ?)")
      .run(eventId, hook, payload, now(), now());
  }

  dueHooks(limit: number): HookOutboxRow[] {
    return this.db.prepare("SELECT * FROM hook_outbox WHERE state = 'pending' AND next_at <= ? ORDER BY id LIMIT ?").all(now(), limit) as HookOutboxRow[];
  }

  nextHookDue(): string | undefined {
    return (this.db.prepare("SELECT MIN(next_at) t FROM hook_outbox WHERE state = 'pending'").get() as { t: string | null }).t ?? undefined;
  }

  setHook(id: number, state: HookOutboxRow['state'], extra: { error?: string; nextAt?: Date } = {}): void {
    this.db
      .prepare(
        'UPDATE hook_outbox SET state = ?, attempts = attempts + (CASE WHEN ? IS NULL THEN 0 ELSE 1 END), last_error = COALESCE(?, last_error), next_at = COALESCE(?, next_at) WHERE id = ?',
      )
      .run(state, extra.error ?? null, extra.error ?? null, extra.nextAt?.toISOString() ?? null, id);
  }

  hookSummary(): Record<string, number> {
    return Object.fromEntries(
      (this.db.prepare('SELECT state, COUNT(*) n FROM hook_outbox GROUP BY state').all() as { state: string; n: number }[]).map((r) => [r.state, r.n]),
    );
  }

  /** Counts per state, for `status`. */
  summary(): { inputs: Record<string, number>; triggers: Record<string, number>; reports: Record<string, number> } {
    const count = (table: string): Record<string, number> =>
      Object.fromEntries(
        (this.db.prepare(`SELECT state, COUNT(*) n FROM ${table} GROUP BY state`).all() as { state: string; n: number }[]).map((r) => [r.state, r.n]),
      );
    return { inputs: count('inputs'), triggers: count('triggers'), reports: count('reports') };
  }

  /** A report's summary (summarizeCra), kept when it is collected: the console shows it without reading the file again. */
  setReportSummary(name: string, size: number, summary: unknown): void {
    this.db.prepare('INSERT OR REPLACE INTO report_summaries (name, size, summary) VALUES (?, ?, ?)').run(name, size, JSON.stringify(summary));
  }

  /** The summary kept for this report at this size, if any. */
  reportSummary(name: string, size: number): unknown {
    const r = this.db.prepare('SELECT summary FROM report_summaries WHERE name = ? AND size = ?').get(name, size) as { summary: string } | undefined;
    return r ? (JSON.parse(r.summary) as unknown) : undefined;
  }

  /** Rows left out under partial acceptance, over every input. */
  rejectedTotal(): number {
    return (this.db.prepare('SELECT IFNULL(SUM(rejected), 0) n FROM inputs').get() as { n: number }).n;
  }

  recentInputs(limit = 20): InputRow[] {
    return this.db.prepare('SELECT * FROM inputs ORDER BY id DESC LIMIT ?').all(limit) as InputRow[];
  }
}

/** A journal that cannot be opened or read (not a database, damaged): one clear line, exit 2. */
export class JournalError extends Error {
  override readonly name = 'JournalError';
}

function journalError(path: string, e: unknown): Error {
  const msg = (e as Error).message;
  if (e instanceof JournalError) return e;
  return new JournalError(
    `the journal ${path} cannot be used (${msg}). If it is damaged, stop the daemon, move it aside and restore a copy; a new journal forgets what was sent, so the same exports could be sent again`,
  );
}

/** Opens the SQLite file, checking that it is one (a damaged or foreign file is a JournalError). */
function openDatabase(path: string, opts?: Database.Options): Database.Database {
  let db: Database.Database | undefined;
  try {
    db = new Database(path, opts);
    db.prepare('SELECT COUNT(*) FROM sqlite_master').get();
    return db;
  } catch (e) {
    db?.close();
    throw journalError(path, e);
  }
}

/** Locks held by this process (a second daemon in the same process has the same pid). */
const HELD = new Set<string>();

/** One daemon per journal: a lock file holding the pid; a stale lock (dead pid) is taken over. */
function takeLock(path: string): void {
  if (HELD.has(path)) throw new JournalLockedError(path, process.pid);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      HELD.add(path);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(readFileSync(path, 'utf8').trim());
      let alive = false;
      try {
        if (pid > 0) {
          process.kill(pid, 0);
          alive = true;
        }
      } catch {
        alive = false;
      }
      if (alive && pid !== process.pid) throw new JournalLockedError(path, pid);
      unlinkSync(path);
    }
  }
  throw new JournalLockedError(path, 0);
}

export class JournalLockedError extends Error {
  override readonly name = 'JournalLockedError';
  constructor(
    readonly lockPath: string,
    readonly pid: number,
  ) {
    super(`another daemon (pid ${pid}) uses this journal (${lockPath}): one daemon per journal; stop it first`);
  }
}
