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
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { checkTransition, type InputState, type TriggerState } from './states.js';
import { PgSql, SqliteSql, type Fence, type Sql } from './sql.js';
import type { Lease, LeaseStore } from './lease.js';
import type { PgStore, WorkListener } from './pg.js';
import { redactUrl } from './pg.js';
import { JournalLockedError } from './lock.js';

export { JournalLockedError } from './lock.js';

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
  /** The node that made the last transition, and the lease epoch it held then (null on SQLite). */
  node: string | null;
  epoch: number | null;
  /** The tag of the last upload attempt's temporary names (`<remote_name>.<attempt>.uploading`); null before any, or in a journal older than tags. */
  attempt: string | null;
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

/** Where a journal lives: a SQLite file, or a PostgreSQL database (a postgres:// URL). */
export const isPgUrl = (target: string): boolean => /^postgres(ql)?:\/\//i.test(target);

/** Where a journal is, as messages may show it (a PostgreSQL URL without its password). */
export const journalWhere = (target: string): string => (isPgUrl(target) ? redactUrl(target) : target);

export interface OpenJournalOptions extends JournalOptions {
  /** PostgreSQL only: the password (from passwordFile or the environment), the schema, the pool. */
  readonly password?: string;
  readonly schema?: string;
  readonly poolSize?: number;
  /** This node's name (one daemon per name and store). */
  readonly node?: string;
  /**
   * The server ends a journal session left idle inside a transaction this
   * long (the lease's time to live): a paused process then holds no lock
   * that would keep the next leader from taking the lease.
   */
  readonly idleInTransactionMs?: number;
}

/** A node's name when none is given (daemon.store.node, DMC_NODE): the host's, cut to the 40 characters a name may have. */
export const defaultNode = (): string => hostname().slice(0, 40);

/** The PostgreSQL options of a daemon section's `store` (nothing for SQLite). */
export function storeOptions(d: {
  readonly store?: {
    readonly password?: { reveal(): string };
    readonly schema: string;
    readonly poolSize: number;
    readonly node?: string;
    readonly leaseSeconds: number;
  };
}): OpenJournalOptions {
  if (!d.store) return {};
  const password = d.store.password?.reveal();
  return {
    schema: d.store.schema,
    poolSize: d.store.poolSize,
    idleInTransactionMs: Math.round(d.store.leaseSeconds * 1000),
    ...(password !== undefined ? { password } : {}),
    ...(d.store.node !== undefined ? { node: d.store.node } : {}),
  };
}

/** A quiet daemon on PostgreSQL still reads this often: a notification lost with a connection that died silently costs at most this. */
const QUIET_READ_MS = 10_000;

/** How many linked broadcasts a journal remembers (a few bytes each; campaigns in flight are far fewer). */
const LINKED_REMEMBERED = 10_000;

export class Journal {
  /** Where it is, as logs and messages may show it (a URL without its password). */
  readonly path: string;

  /** Whether a journal exists there (status and retry before the daemon ever ran); a PostgreSQL URL is asked when opened. */
  static exists(target: string): boolean {
    return isPgUrl(target) || existsSync(target);
  }

  /**
   * Opens (creating) the journal. On SQLite, `daemon` takes the one-daemon
   * lock; `readonly` (status) and `shared` (retry, resend: SQLite serializes
   * their writes with the daemon's) take none; `receiver` (a push receiver
   * run on its own) creates the journal if needed and takes no lock either.
   * A postgres:// URL opens the PostgreSQL store (schema migrated at start).
   */
  static async open(target: string, mode: JournalMode = 'daemon', opts: OpenJournalOptions = {}): Promise<Journal> {
    if (isPgUrl(target)) {
      const { PgStore } = await import('./pg.js');
      const pg = await PgStore.open({
        url: target,
        password: opts.password,
        schema: opts.schema,
        poolSize: opts.poolSize,
        idleInTransactionMs: opts.idleInTransactionMs,
      });
      let unlock = async (): Promise<void> => undefined;
      if (mode === 'daemon')
        try {
          unlock = await pg.lockDaemon(target, opts.password, opts.node ?? defaultNode());
        } catch (e) {
          await pg.close();
          throw e;
        }
      let listener: WorkListener | undefined;
      const journal = new Journal(
        pg.sql(),
        `${pg.where} (schema ${pg.schema})`,
        mode,
        opts,
        async () => {
          await listener?.stop();
          await unlock();
          await pg.close();
        },
        pg,
      );
      // A daemon's passes read only after a change (Journal.quiet): it follows the store's notifications.
      if (mode === 'daemon')
        listener = pg.listen(target, opts.password, {
          changed: () => journal.noteChange(),
          listening: (yes) => journal.noteListening(yes),
        });
      return journal;
    }
    const { db, release } = openSqlite(target, mode);
    return new Journal(new SqliteSql(db), target, mode, opts, async () => release());
  }

  private constructor(
    /** The database, for the store's own modules (statuses) and the tests. */
    readonly sql: Sql,
    where: string,
    readonly mode: JournalMode,
    private readonly opts: JournalOptions,
    private readonly closer: () => Promise<void>,
    private readonly pg?: PgStore,
  ) {
    this.path = where;
  }

  /** Who records each transition: this node, and its lease's epoch when it writes under one. */
  private actor: () => { node: string | null; epoch: number | null } = () => ({ node: null, epoch: null });

  /** The node and epoch columns' values for the statement at hand. */
  private by(): [string | null, number | null] {
    const a = this.actor();
    return [a.node, a.epoch];
  }

  /** PostgreSQL: the sessions' `synchronous_commit` (`on`, `remote_apply`, `local`, `off`...); undefined on SQLite (FULL). */
  async synchronousCommit(): Promise<string | undefined> {
    if (!this.pg) return undefined;
    return (await this.sql.get<{ synchronous_commit: string }>('SHOW synchronous_commit'))?.synchronous_commit;
  }

  /** The node writing through this journal and the epoch of its lease now (epoch null on SQLite, or when it holds none). */
  writer(): { node: string | null; epoch: number | null } {
    return this.actor();
  }

  /** PostgreSQL: the account's lease as the store holds it now (undefined on SQLite, or before any node took it). */
  async lease(account: string): Promise<(Lease & { live: boolean }) | undefined> {
    const l = await this.pg?.leases().read(account);
    return l ? { ...l, live: l.expiresAt.getTime() > Date.now() } : undefined;
  }

  /** PostgreSQL: the accounts' leases in this store (undefined on SQLite: one daemon, no lease). */
  leases(): LeaseStore | undefined {
    return this.pg?.leases();
  }

  /**
   * Writes only under `fence` from now on (PostgreSQL; see PgSql.setFence),
   * and each transition records `node` and the epoch it was made under.
   */
  writeUnder(node: string, fence?: () => Fence | undefined): void {
    if (fence && this.sql instanceof PgSql) this.sql.setFence(fence);
    this.actor = () => ({ node, epoch: fence?.()?.epoch ?? null });
  }

  /** Changes notified by the store (PostgreSQL) that may make work for a pass, counted; see quiet(). */
  private changes = 0;
  private listening = false;
  /** The change count a pass found nothing to do at, and when it read so. */
  private quietAt: { mark: number; at: number } | undefined;

  /** A change that may make work (a notification, this node's lease taken): the next pass reads. */
  noteChange(): void {
    this.changes++;
  }

  /** Whether the store's notifications reach this journal now: a lost connection makes every pass read until it is back. */
  noteListening(yes: boolean): void {
    this.listening = yes;
    this.changes++;
  }

  /** The change count now: taken by a pass before it reads, given back to markQuiet if it found nothing to do. */
  changeMark(): number {
    return this.changes;
  }

  /** A pass that read at `mark` found nothing to do: until the next change, passes need not read (PostgreSQL only). */
  markQuiet(mark: number): void {
    if (this.listening) this.quietAt = { mark, at: Date.now() };
  }

  /**
   * True when nothing that makes work for a pass changed since a pass found
   * nothing to do, less than QUIET_READ_MS ago, while listening throughout:
   * that pass may skip its reads. Always false on SQLite (reads cost
   * microseconds there) and in processes that do not listen.
   */
  quiet(): boolean {
    const q = this.quietAt;
    return this.listening && q !== undefined && q.mark === this.changes && Date.now() - q.at < QUIET_READ_MS;
  }

  /** Broadcasts seen linked to their trigger in a committed transaction (a link is never undone), most recent last. */
  private readonly linkedBroadcasts = new Set<string>();

  private rememberLinked(broadcasts: readonly string[]): void {
    for (const b of broadcasts) {
      this.linkedBroadcasts.delete(b);
      this.linkedBroadcasts.add(b);
    }
    // Bounded: the oldest are forgotten (asked again if their statuses still come).
    for (const b of this.linkedBroadcasts) {
      if (this.linkedBroadcasts.size <= LINKED_REMEMBERED) break;
      this.linkedBroadcasts.delete(b);
    }
  }

  private closed = false;

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.sql.close();
    await this.closer();
  }

  /** Runs `fn` in one transaction: every journal call it makes commits with it, or none does. */
  tx<T>(fn: () => Promise<T>, afterCommit?: () => void): Promise<T> {
    return this.sql.tx(fn, afterCommit);
  }

  /** Reports a committed transition (after the outermost transaction commits). */
  private transitioned(t: Transition): Promise<void> {
    return this.sql.tx(
      async () => undefined,
      () => this.opts.onTransition?.(t),
    );
  }

  findByHash(folder: string, hash: string): Promise<InputRow | undefined> {
    // A retried input never reached the platform (retry refuses otherwise): its content taken again is not a duplicate.
    return this.sql.get<InputRow>(
      `SELECT * FROM inputs WHERE folder = ? AND hash = ? AND state NOT IN ('failed', 'duplicate', 'retried') ORDER BY id LIMIT 1`,
      folder,
      hash,
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
  }): Promise<InputRow> {
    return this.tx(async () => {
      const t = now();
      const r = await this.sql.get<{ id: number }>(
        `INSERT INTO inputs (folder, name, hash, size, state, kind, work_path, created_at, updated_at, duplicate_of, node, epoch) VALUES (?, ?, ?, ?, ?, ?, '', ?, ?, ?, ?, ?) RETURNING id`,
        i.folder,
        i.name,
        i.hash,
        i.size,
        i.state ?? 'seen',
        i.kind,
        t,
        t,
        i.duplicateOf ?? null,
        ...this.by(),
      );
      const id = Number(r!.id);
      const workPath = `${i.workDir}/${String(id).padStart(6, '0')}-${i.name}`;
      // A duplicate is refused as it is recorded: nothing of it is ever sent.
      await this.sql.run('UPDATE inputs SET work_path = ? WHERE id = ?', workPath, id);
      await this.transitioned({ what: 'input', id, from: 'new', to: i.state ?? 'seen' });
      return (await this.input(id))!;
    });
  }

  input(id: number): Promise<InputRow | undefined> {
    return this.sql.get<InputRow>('SELECT * FROM inputs WHERE id = ?', id);
  }

  /**
   * Moves an input to `state` (allowed transitions only); `error` records why,
   * and counts an attempt. The update is conditioned on the state it was
   * read in: one that changes nothing (another writer moved it) is refused.
   */
  setInput(id: number, state: InputState, error?: string): Promise<void> {
    return this.tx(async () => {
      const from = (await this.sql.get<{ state: InputState }>('SELECT state FROM inputs WHERE id = ?', id))?.state;
      if (from === undefined) throw new Error(`journal: no input #${id}`);
      checkTransition('input', id, from, state);
      const changed = await this.sql.run(
        'UPDATE inputs SET state = ?, updated_at = ?, last_error = COALESCE(?, last_error), attempts = attempts + ?, node = ?, epoch = ? WHERE id = ? AND state = ?',
        state,
        now(),
        error ?? null,
        error === undefined ? 0 : 1,
        ...this.by(),
        id,
        from,
      );
      if (changed === 0) throw new StaleTransitionError(`journal: input #${id} left ${from} before it could move to ${state}`);
      if (from !== state) await this.transitioned({ what: 'input', id, from, to: state });
    });
  }

  /** The newest input of a folder whose name passes `match` (among its 200 newest of that folder). */
  async lastInputWhere(folder: string, match: (name: string) => boolean): Promise<InputRow | undefined> {
    const rows = await this.sql.all<InputRow>("SELECT * FROM inputs WHERE folder = ? AND kind != 'command' ORDER BY id DESC LIMIT 200", folder);
    return rows.find((r) => match(r.name));
  }

  /** An input of that folder and name journaled and not yet moved to work/ (a run stopped between the two). */
  seenAt(folder: string, name: string): Promise<InputRow | undefined> {
    return this.sql.get<InputRow>(
      "SELECT * FROM inputs WHERE folder = ? AND name = ? AND state = 'seen' AND settled = 0 ORDER BY id DESC LIMIT 1",
      folder,
      name,
    );
  }

  /** The newest input of that name in any folder. */
  lastInputNamed(name: string): Promise<InputRow | undefined> {
    return this.sql.get<InputRow>('SELECT * FROM inputs WHERE name = ? ORDER BY id DESC LIMIT 1', name);
  }

  /** Records a failed attempt at an input's current step; returns the attempts so far. */
  async recordError(id: number, error: string): Promise<number> {
    await this.sql.run('UPDATE inputs SET last_error = ?, attempts = attempts + 1, updated_at = ? WHERE id = ?', error.slice(0, 4000), now(), id);
    return (await this.input(id))?.attempts ?? 0;
  }

  /** The states of the inputs not settled yet, in one read: what a pass has to look at (an idle pass looks at nothing more). */
  async liveStates(): Promise<Set<InputState>> {
    return new Set((await this.sql.all<{ state: InputState }>('SELECT DISTINCT state FROM inputs WHERE settled = 0')).map((r) => r.state));
  }

  /** Inputs in these states that are still actionable (final inputs once settled are not). */
  inputsIn(...states: InputState[]): Promise<InputRow[]> {
    return this.sql.all<InputRow>(`SELECT * FROM inputs WHERE settled = 0 AND state IN (${states.map(() => '?').join(',')}) ORDER BY id`, ...states);
  }

  /** A final input whose files are where they belong: no pass reads it again. */
  async settle(id: number): Promise<void> {
    await this.sql.run('UPDATE inputs SET settled = 1 WHERE id = ?', id);
  }

  /** The file changed after it was taken: its new size and hash, and when. */
  async noteChanged(id: number, size: number, hash: string): Promise<void> {
    const t = now();
    await this.sql.run('UPDATE inputs SET size = ?, hash = ?, changed_at = ?, updated_at = ? WHERE id = ?', size, hash, t, t, id);
  }

  /** What a build said without refusing: the rows it left out and its warnings (with the triggers, in one transaction). */
  recordBuildNotes(id: number, rejected: readonly { line: number; reason: string }[], warnings: string | undefined): Promise<void> {
    return this.tx(async () => {
      for (const r of rejected)
        await this.sql.run(
          'INSERT INTO rejected_rows (input_id, line, reason) VALUES (?, ?, ?) ON CONFLICT (input_id, line) DO UPDATE SET reason = excluded.reason',
          id,
          r.line,
          r.reason.slice(0, 1000),
        );
      await this.sql.run('UPDATE inputs SET rejected = ?, warnings = ? WHERE id = ?', rejected.length, warnings?.slice(0, 4000) ?? null, id);
    });
  }

  /** The rows of an input left out under partial acceptance, by export line. */
  async rejectedRows(id: number): Promise<Map<number, string>> {
    const rows = await this.sql.all<{ line: number; reason: string }>('SELECT line, reason FROM rejected_rows WHERE input_id = ?', id);
    return new Map(rows.map((r) => [Number(r.line), r.reason]));
  }

  async setDocumentsSent(id: number): Promise<void> {
    await this.sql.run('UPDATE inputs SET documents_sent = 1 WHERE id = ?', id);
  }

  /** Forms a group: the leader's triggers carry every member's contacts (one transaction with the triggers). */
  addGroup(leaderId: number, memberIds: readonly number[], parts: { localPath: string; remoteName: string; contacts: number }[]): Promise<void> {
    return this.tx(async () => {
      for (const id of memberIds) {
        await this.sql.run('UPDATE inputs SET group_leader = ? WHERE id = ?', leaderId, id);
        await this.setInput(id, 'built');
      }
      await this.addTriggers(leaderId, parts);
    });
  }

  /** Marks inputs to be built alone (a grouped build failed: each is then judged on its own). */
  buildAlone(ids: readonly number[]): Promise<void> {
    return this.tx(async () => {
      for (const id of ids) await this.sql.run('UPDATE inputs SET group_leader = -1 WHERE id = ?', id);
    });
  }

  /**
   * Records the built trigger files (with their contacts' external
   * references, to link the broadcasts later) and moves the input to `built`,
   * in one transaction.
   */
  addTriggers(inputId: number, parts: { localPath: string; remoteName: string; contacts: number; refs?: readonly string[] }[]): Promise<void> {
    return this.tx(async () => {
      for (const [k, p] of parts.entries()) {
        const r = await this.sql.get<{ id: number }>(
          "INSERT INTO triggers (input_id, part, local_path, remote_name, contacts, state, updated_at) VALUES (?, ?, ?, ?, ?, 'built', ?) RETURNING id",
          inputId,
          k + 1,
          p.localPath,
          p.remoteName,
          p.contacts,
          now(),
        );
        // 500 references a statement: a part of 100,000 contacts is 200 round trips to PostgreSQL, not 100,000.
        const refs = [...new Set(p.refs ?? [])];
        for (let i = 0; i < refs.length; i += 500) {
          const chunk = refs.slice(i, i + 500);
          await this.sql.run(
            `INSERT INTO trigger_refs (trigger_id, ref) VALUES ${chunk.map(() => '(?, ?)').join(', ')}`,
            ...chunk.flatMap((ref) => [Number(r!.id), ref]),
          );
        }
      }
      await this.setInput(inputId, 'built');
    });
  }

  /**
   * Links report lines and push statuses to triggers: each (externalReference,
   * broadcastId) gives its broadcast number to the most recent trigger
   * holding that reference and not yet linked; an address (`@<normalized>`)
   * to the one unlinked trigger holding it, if only one does. A broadcast
   * comes from one trigger: once linked, its lines link nothing more (known
   * linked without a query once this process has seen it committed, since a
   * link is never undone). Returns the triggers linked.
   */
  async linkBroadcasts(lines: Iterable<{ ref: string; broadcastId: string }>): Promise<number[]> {
    const linked = new Set<number>();
    const all = [...lines].filter((l) => l.ref && !this.linkedBroadcasts.has(l.broadcastId));
    if (all.length === 0) return [];
    let known: string[] = [];
    await this.tx(
      async () => {
        // The broadcasts already linked and the references some trigger holds (only those can link anything), found
        // in batches first and together: a daily report of 100,000 lines costs 200 queries, not 300,000 round trips.
        const done = new Set<string>();
        const held = new Set<string>();
        const broadcasts = [...new Set(all.map((l) => l.broadcastId))];
        const refs = [...new Set(all.map((l) => l.ref))];
        for (let i = 0; i < Math.max(refs.length, broadcasts.length); i += 500) {
          const b = broadcasts.slice(i, i + 500);
          const r = refs.slice(i, i + 500);
          const rows = await this.sql.all<{ k: string; v: string }>(
            [
              ...(b.length ? [`SELECT DISTINCT 'b' k, broadcast_id v FROM triggers WHERE broadcast_id IN (${b.map(() => '?').join(',')})`] : []),
              ...(r.length ? [`SELECT DISTINCT 'r' k, ref v FROM trigger_refs WHERE ref IN (${r.map(() => '?').join(',')})`] : []),
            ].join(' UNION ALL '),
            ...b,
            ...r,
          );
          for (const row of rows) (row.k === 'b' ? done : held).add(row.v);
        }
        for (const l of all) {
          if (done.has(l.broadcastId) || !held.has(l.ref)) continue;
          let row: { id: number } | undefined;
          if (l.ref.startsWith('@')) {
            // An address links only when one unlinked trigger holds it: two exports to the same number stay apart.
            const candidates = await this.sql.all<{ id: number }>(
              'SELECT DISTINCT t.id FROM triggers t JOIN trigger_refs r ON r.trigger_id = t.id WHERE r.ref = ? AND t.broadcast_id IS NULL LIMIT 2',
              l.ref,
            );
            row = candidates.length === 1 ? candidates[0] : undefined;
          } else {
            row = await this.sql.get<{ id: number }>(
              'SELECT t.id FROM triggers t JOIN trigger_refs r ON r.trigger_id = t.id WHERE r.ref = ? AND t.broadcast_id IS NULL ORDER BY t.id DESC LIMIT 1',
              l.ref,
            );
          }
          if (row) {
            await this.sql.run('UPDATE triggers SET broadcast_id = ? WHERE id = ?', l.broadcastId, row.id);
            linked.add(Number(row.id));
            done.add(l.broadcastId);
          }
        }
        known = [...done];
        // Remembered once committed (a link rolled back is not one).
      },
      () => this.rememberLinked(known),
    );
    return [...linked];
  }

  triggersOf(inputId: number): Promise<TriggerRow[]> {
    return this.sql.all<TriggerRow>('SELECT * FROM triggers WHERE input_id = ? ORDER BY part', inputId);
  }

  trigger(id: number): Promise<TriggerRow | undefined> {
    return this.sql.get<TriggerRow>('SELECT * FROM triggers WHERE id = ?', id);
  }

  /** Triggers in these states whose input is still actionable. */
  triggersIn(...states: TriggerState[]): Promise<TriggerRow[]> {
    return this.sql.all<TriggerRow>(
      `SELECT t.* FROM triggers t JOIN inputs i ON i.id = t.input_id WHERE i.settled = 0 AND t.state IN (${states.map(() => '?').join(',')}) ORDER BY t.id`,
      ...states,
    );
  }

  /** Moves a trigger to `state`, conditioned on the state it was read in (as setInput). */
  setTrigger(id: number, state: TriggerState, extra: { outcome?: string; error?: string; attempt?: string } = {}): Promise<void> {
    return this.tx(async () => {
      const from = (await this.trigger(id))?.state;
      if (from === undefined) throw new Error(`journal: no trigger #${id}`);
      checkTransition('trigger', id, from, state);
      const changed = await this.sql.run(
        'UPDATE triggers SET state = ?, outcome = COALESCE(?, outcome), last_error = COALESCE(?, last_error), attempt = COALESCE(?, attempt), attempts = attempts + ?, updated_at = ?, node = ?, epoch = ? WHERE id = ? AND state = ?',
        state,
        extra.outcome ?? null,
        extra.error ?? null,
        extra.attempt ?? null,
        extra.error === undefined ? 0 : 1,
        now(),
        ...this.by(),
        id,
        from,
      );
      if (changed === 0) throw new StaleTransitionError(`journal: trigger #${id} left ${from} before it could move to ${state}`);
      if (from !== state) await this.transitioned({ what: 'trigger', id, from, to: state });
    });
  }

  report(name: string): Promise<ReportRow | undefined> {
    return this.sql.get<ReportRow>('SELECT * FROM reports WHERE name = ?', name);
  }

  async setReport(r: Omit<ReportRow, 'updated_at'>): Promise<void> {
    await this.sql.run(
      'INSERT INTO reports (name, size, state, local_path, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET size = excluded.size, state = excluded.state, local_path = excluded.local_path, updated_at = excluded.updated_at',
      r.name,
      r.size,
      r.state,
      r.local_path,
      now(),
    );
  }

  /** The newest reports first. */
  reports(limit = 500): Promise<ReportRow[]> {
    return this.sql.all<ReportRow>('SELECT * FROM reports ORDER BY name DESC LIMIT ?', limit);
  }

  lastReport(): Promise<ReportRow | undefined> {
    return this.sql.get<ReportRow>('SELECT * FROM reports ORDER BY updated_at DESC LIMIT 1');
  }

  /** Asks that the next input of this content in this folder be sent even though it was sent before. */
  async askResend(folder: string, hash: string, ofInput: number): Promise<void> {
    await this.sql.run('INSERT INTO resends (folder, hash, asked_at, of_input) VALUES (?, ?, ?, ?)', folder, hash, now(), ofInput);
  }

  /** Consumes a resend request for this content; true when there was one. */
  async takeResend(folder: string, hash: string): Promise<boolean> {
    const row = this.sql.dialect === 'pg' ? 'ctid' : 'rowid';
    return (await this.sql.run(`DELETE FROM resends WHERE ${row} = (SELECT ${row} FROM resends WHERE folder = ? AND hash = ? LIMIT 1)`, folder, hash)) > 0;
  }

  /** For the given triggers: their broadcast numbers and the inputs they came from. */
  async broadcastLinks(
    triggerIds: readonly number[],
  ): Promise<{ broadcastId: string; remoteName: string; input: { id: number; name: string; folder: string } }[]> {
    if (triggerIds.length === 0) return [];
    const rows = await this.sql.all<{ b: string; r: string; id: number; n: string; f: string }>(
      `SELECT t.broadcast_id b, t.remote_name r, i.id id, i.name n, i.folder f FROM triggers t JOIN inputs i ON i.id = t.input_id WHERE t.id IN (${triggerIds.map(() => '?').join(',')})`,
      ...triggerIds,
    );
    return rows.map((x) => ({ broadcastId: x.b, remoteName: x.r, input: { id: Number(x.id), name: x.n, folder: x.f } }));
  }

  /** Records a drop folder's health (status shows it); true when it changed. */
  async setFolderHealth(path: string, healthy: boolean, error?: string): Promise<boolean> {
    const prev = await this.sql.get<{ healthy: number }>('SELECT healthy FROM folders WHERE path = ?', path);
    if (prev && prev.healthy === (healthy ? 1 : 0) && healthy) return false;
    await this.sql.run(
      'INSERT INTO folders (path, healthy, error, since) VALUES (?, ?, ?, ?) ON CONFLICT (path) DO UPDATE SET healthy = excluded.healthy, error = excluded.error, since = CASE WHEN folders.healthy = excluded.healthy THEN folders.since ELSE excluded.since END',
      path,
      healthy ? 1 : 0,
      error ?? null,
      now(),
    );
    return !prev || prev.healthy !== (healthy ? 1 : 0);
  }

  /** A file the watcher found complete but that could not be taken (retried; status shows it). */
  async recordIntakeError(path: string, error: string): Promise<void> {
    await this.sql.run(
      'INSERT INTO intake_errors (path, error, attempts, at) VALUES (?, ?, 1, ?) ON CONFLICT (path) DO UPDATE SET error = excluded.error, attempts = intake_errors.attempts + 1, at = excluded.at',
      path,
      error.slice(0, 1000),
      now(),
    );
  }

  async clearIntakeError(path: string): Promise<void> {
    await this.sql.run('DELETE FROM intake_errors WHERE path = ?', path);
  }

  intakeErrors(): Promise<{ path: string; error: string; attempts: number; at: string }[]> {
    return this.sql.all('SELECT * FROM intake_errors ORDER BY path');
  }

  folders(): Promise<FolderHealthRow[]> {
    return this.sql.all<FolderHealthRow>('SELECT * FROM folders ORDER BY path');
  }

  /** Puts a hook delivery in the outbox (in the caller's transaction, with the state change it reports). */
  async enqueueHook(eventId: string, hook: string, payload: string): Promise<void> {
    const t = now();
    await this.sql.run(
      "INSERT INTO hook_outbox (event_id, hook, payload, state, next_at, created_at) VALUES (?, ?, ?, 'pending', ?, ?)",
      eventId,
      hook,
      payload,
      t,
      t,
    );
  }

  dueHooks(limit: number): Promise<HookOutboxRow[]> {
    return this.sql.all<HookOutboxRow>("SELECT * FROM hook_outbox WHERE state = 'pending' AND next_at <= ? ORDER BY id LIMIT ?", now(), limit);
  }

  async nextHookDue(): Promise<string | undefined> {
    return (await this.sql.get<{ t: string | null }>("SELECT MIN(next_at) t FROM hook_outbox WHERE state = 'pending'"))?.t ?? undefined;
  }

  async setHook(id: number, state: HookOutboxRow['state'], extra: { error?: string; nextAt?: Date } = {}): Promise<void> {
    await this.sql.run(
      'UPDATE hook_outbox SET state = ?, attempts = attempts + ?, last_error = COALESCE(?, last_error), next_at = COALESCE(?, next_at) WHERE id = ?',
      state,
      extra.error === undefined ? 0 : 1,
      extra.error ?? null,
      extra.nextAt?.toISOString() ?? null,
      id,
    );
  }

  async hookSummary(): Promise<Record<string, number>> {
    return countBy(await this.sql.all<{ k: string; n: number }>('SELECT state k, COUNT(*) n FROM hook_outbox GROUP BY state'));
  }

  /** Counts per state, for `status`. */
  async summary(): Promise<{ inputs: Record<string, number>; triggers: Record<string, number>; reports: Record<string, number> }> {
    const count = async (table: string): Promise<Record<string, number>> =>
      countBy(await this.sql.all<{ k: string; n: number }>(`SELECT state k, COUNT(*) n FROM ${table} GROUP BY state`));
    return { inputs: await count('inputs'), triggers: await count('triggers'), reports: await count('reports') };
  }

  /** Counts of a table by one of its columns (`none` for null), for /metrics. */
  async countsBy(table: 'inputs' | 'triggers' | 'hook_outbox', column: 'state' | 'kind' | 'outcome'): Promise<Record<string, number>> {
    return countBy(await this.sql.all<{ k: string; n: number }>(`SELECT COALESCE(${column}, 'none') k, COUNT(*) n FROM ${table} GROUP BY ${column}`));
  }

  /** A report's summary (summarizeCra), kept when it is collected: the console shows it without reading the file again. */
  async setReportSummary(name: string, size: number, summary: unknown): Promise<void> {
    await this.sql.run(
      'INSERT INTO report_summaries (name, size, summary) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET size = excluded.size, summary = excluded.summary',
      name,
      size,
      JSON.stringify(summary),
    );
  }

  /** The summary kept for this report at this size, if any. */
  async reportSummary(name: string, size: number): Promise<unknown> {
    const r = await this.sql.get<{ summary: string }>('SELECT summary FROM report_summaries WHERE name = ? AND size = ?', name, size);
    return r ? (JSON.parse(r.summary) as unknown) : undefined;
  }

  /** Rows left out under partial acceptance, over every input. */
  async rejectedTotal(): Promise<number> {
    return Number((await this.sql.get<{ n: number }>('SELECT COALESCE(SUM(rejected), 0) n FROM inputs'))?.n ?? 0);
  }

  recentInputs(limit = 20): Promise<InputRow[]> {
    return this.sql.all<InputRow>('SELECT * FROM inputs ORDER BY id DESC LIMIT ?', limit);
  }

  /** Statuses received by push, over every broadcast. */
  async pushStatusCount(): Promise<number> {
    return Number((await this.sql.get<{ n: number }>('SELECT COUNT(*) n FROM push_statuses'))?.n ?? 0);
  }

  /** Cheap check that the store answers and takes writes (readiness). */
  async ping(): Promise<void> {
    if (this.pg) {
      // Reached, and the primary: a standby node writes nothing (fenced), so a write would say nothing of the database.
      const r = await this.sql.get<{ ro: boolean }>('SELECT pg_is_in_recovery() ro');
      if (r?.ro) throw new Error('the database is a read-only replica (in recovery): point daemon.journal at the primary');
      return;
    }
    await this.sql.tx(async () => {
      await this.sql.get('SELECT 1 FROM inputs LIMIT 1');
    });
  }
}

const countBy = (rows: readonly { k: string; n: number }[]): Record<string, number> => Object.fromEntries(rows.map((r) => [r.k, Number(r.n)]));

/** A transition that changed nothing: the row was no longer in the state it was read in (another writer, a deposed node). */
export class StaleTransitionError extends Error {
  override readonly name = 'StaleTransitionError';
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

export type JournalMode = 'daemon' | 'readonly' | 'shared' | 'receiver';

/** Opens the SQLite journal file in its mode (the one-daemon lock for `daemon`) with its pragmas and schema. */
function openSqlite(path: string, mode: JournalMode): { db: Database.Database; release: () => void } {
  const lockPath = `${path}.lock`;
  const release = (): void => {
    if (mode !== 'daemon') return;
    HELD.delete(lockPath);
    try {
      unlinkSync(lockPath);
    } catch {
      /* already gone */
    }
  };
  if (mode === 'readonly' || mode === 'shared') {
    const db = openDatabase(path, { readonly: mode === 'readonly', fileMustExist: true });
    if (mode === 'shared') {
      db.pragma('busy_timeout = 10000');
      // Synchronous is per connection: a write here is as durable as the daemon's.
      db.pragma('synchronous = FULL');
    }
    return { db, release };
  }
  mkdirSync(dirname(path), { recursive: true });
  if (mode === 'daemon') takeLock(lockPath);
  let db: Database.Database;
  try {
    db = openDatabase(path);
  } catch (e) {
    release();
    throw e;
  }
  try {
    db.pragma('busy_timeout = 10000');
    db.pragma('journal_mode = WAL');
    // FULL: a commit is fsynced before it returns (NORMAL in WAL mode would not be, and a power cut could lose it).
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.exec(SCHEMA);
    db.exec(STATUS_SCHEMA);
    // Journals created before these columns existed get them.
    const cols = (db.prepare('PRAGMA table_info(inputs)').all() as { name: string }[]).map((c) => c.name);
    if (!cols.includes('group_leader')) db.exec('ALTER TABLE inputs ADD COLUMN group_leader INTEGER');
    const tcols = (db.prepare('PRAGMA table_info(triggers)').all() as { name: string }[]).map((c) => c.name);
    if (!tcols.includes('broadcast_id')) db.exec('ALTER TABLE triggers ADD COLUMN broadcast_id TEXT');
    if (!cols.includes('settled')) db.exec('ALTER TABLE inputs ADD COLUMN settled INTEGER NOT NULL DEFAULT 0');
    if (!cols.includes('documents_sent')) db.exec('ALTER TABLE inputs ADD COLUMN documents_sent INTEGER NOT NULL DEFAULT 0');
    if (!cols.includes('changed_at')) db.exec('ALTER TABLE inputs ADD COLUMN changed_at TEXT');
    if (!cols.includes('rejected')) db.exec('ALTER TABLE inputs ADD COLUMN rejected INTEGER NOT NULL DEFAULT 0');
    if (!cols.includes('warnings')) db.exec('ALTER TABLE inputs ADD COLUMN warnings TEXT');
    // Who made the last transition, and under which lease epoch (PostgreSQL; on SQLite the node, no epoch).
    if (!cols.includes('node')) db.exec('ALTER TABLE inputs ADD COLUMN node TEXT; ALTER TABLE inputs ADD COLUMN epoch INTEGER');
    if (!tcols.includes('node')) db.exec('ALTER TABLE triggers ADD COLUMN node TEXT; ALTER TABLE triggers ADD COLUMN epoch INTEGER');
    if (!tcols.includes('attempt')) db.exec('ALTER TABLE triggers ADD COLUMN attempt TEXT');
    db.exec('CREATE INDEX IF NOT EXISTS inputs_unsettled ON inputs(settled, state)');
    db.exec('CREATE INDEX IF NOT EXISTS inputs_folder ON inputs(folder, id)');
    db.exec('CREATE INDEX IF NOT EXISTS triggers_broadcast ON triggers(broadcast_id)');
  } catch (e) {
    db.close();
    release();
    throw journalError(path, e);
  }
  return { db, release };
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
