/**
 * The one way the store talks to its database, whichever it is: SQLite
 * (better-sqlite3, the embedded default) or PostgreSQL (`pg`, issue #20).
 * Statements are written once with `?` placeholders in the SQL both engines
 * share; where they differ, the caller asks `dialect`.
 *
 * A transaction is the async function given to `tx`: every statement run
 * while it is pending, from any function it calls, runs inside it (the
 * transaction travels with the async context, so callers pass nothing).
 * Statements from elsewhere wait for it to end: on SQLite the connection is
 * one and shared, so a statement run during another flow's transaction would
 * otherwise join it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type Database from 'better-sqlite3';

export type Dialect = 'sqlite' | 'pg';

export interface Sql {
  readonly dialect: Dialect;
  all<T>(sql: string, ...params: unknown[]): Promise<T[]>;
  get<T>(sql: string, ...params: unknown[]): Promise<T | undefined>;
  /** Resolves with the number of rows changed. */
  run(sql: string, ...params: unknown[]): Promise<number>;
  /** Runs `fn` in one transaction (nested calls join the outer one); `afterCommit` runs once it is committed. */
  tx<T>(fn: () => Promise<T>, afterCommit?: () => void): Promise<T>;
  close(): Promise<void>;
}

interface TxContext {
  readonly owner: object;
  readonly after: (() => void)[];
}

/** SQLite through better-sqlite3: one connection; transactions take turns, and statements outside them wait. */
export class SqliteSql implements Sql {
  readonly dialect = 'sqlite' as const;
  private readonly als = new AsyncLocalStorage<TxContext>();
  private readonly statements = new Map<string, Database.Statement>();
  /** The pending transaction, if any, and the queue of those waiting their turn. */
  private open: Promise<void> | undefined;
  private queue: Promise<void> = Promise.resolve();

  constructor(readonly db: Database.Database) {}

  private stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      if (this.statements.size > 500) this.statements.clear();
      this.statements.set(sql, s);
    }
    return s;
  }

  /** Runs now when no other flow's transaction is open; otherwise after it. */
  private async turn<T>(fn: () => T): Promise<T> {
    while (this.open && this.als.getStore()?.owner !== this) await this.open.catch(() => undefined);
    return fn();
  }

  all<T>(sql: string, ...params: unknown[]): Promise<T[]> {
    return this.turn(() => this.stmt(sql).all(...params) as T[]);
  }

  get<T>(sql: string, ...params: unknown[]): Promise<T | undefined> {
    return this.turn(() => this.stmt(sql).get(...params) as T | undefined);
  }

  run(sql: string, ...params: unknown[]): Promise<number> {
    return this.turn(() => this.stmt(sql).run(...params).changes);
  }

  async tx<T>(fn: () => Promise<T>, afterCommit?: () => void): Promise<T> {
    const outer = this.als.getStore();
    if (outer?.owner === this) {
      if (afterCommit) outer.after.push(afterCommit);
      return fn();
    }
    // Take a turn: transactions of other flows run one after the other.
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const before = this.queue;
    this.queue = before.then(() => mine);
    // The one before has ended (queue): this transaction is the open one now.
    await before;
    this.open = mine;
    const ctx: TxContext = { owner: this, after: afterCommit ? [afterCommit] : [] };
    try {
      this.db.exec('BEGIN IMMEDIATE');
      let result: T;
      try {
        result = await this.als.run(ctx, fn);
        this.db.exec('COMMIT');
      } catch (e) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw e;
      }
      for (const f of ctx.after) f();
      return result;
    } finally {
      this.open = undefined;
      release();
    }
  }

  /** Whether the calling flow runs inside this database's transaction. */
  inTx(): boolean {
    return this.als.getStore()?.owner === this;
  }

  async close(): Promise<void> {
    this.statements.clear();
    this.db.close();
  }
}

/** `?` placeholders as PostgreSQL's `$n` (outside quoted strings). */
export function numbered(sql: string): string {
  let n = 0;
  let out = '';
  let quoted = false;
  for (const ch of sql) {
    if (ch === "'") quoted = !quoted;
    out += ch === '?' && !quoted ? `$${++n}` : ch;
  }
  return out;
}

/** What PgSql needs of node-postgres (a Pool; a PoolClient for a transaction). */
interface PgQueryable {
  query(sql: string, params?: unknown[]): Promise<{ rows: unknown[]; rowCount: number | null }>;
}
interface PgPoolLike extends PgQueryable {
  connect(): Promise<
    PgQueryable & {
      release(err?: Error | boolean): void;
      on?(event: 'error', listener: (e: Error) => void): unknown;
      off?(event: 'error', listener: (e: Error) => void): unknown;
    }
  >;
  end(): Promise<void>;
}

/** Who may write: the account's lease as this node holds it (issue #20). */
export interface Fence {
  readonly account: string;
  readonly holder: string;
  readonly epoch: number;
}

/** A write refused because this node does not hold the account's lease (any more): nothing of it was committed. */
export class DeposedError extends Error {
  override readonly name = 'DeposedError';
}

/**
 * The database cannot be reached or answer now (connection refused, cut or
 * timed out; the server shutting down; too many connections; a deadlock or
 * serialization failure to try again). Nothing of the statement or its
 * transaction was committed. Like a transport fault, it fails the pass (and
 * is tried again after a backoff), never an input.
 */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
}

const UNAVAILABLE_CODES = /^(08|53|57P|58|40001$|40P01$|55P03$)|^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EHOSTUNREACH|ENETUNREACH)$/;
const UNAVAILABLE_MESSAGES = /timeout exceeded when trying to connect|Query read timeout|Connection terminated|connection error|Client was closed/i;

/** `e` as a StoreUnavailableError when it says the database is unreachable, else as it is. */
export function storeFault(e: unknown): unknown {
  if (!(e instanceof Error) || e instanceof StoreUnavailableError || e instanceof DeposedError) return e;
  const code = (e as { code?: unknown }).code;
  if ((typeof code === 'string' && UNAVAILABLE_CODES.test(code)) || UNAVAILABLE_MESSAGES.test(e.message))
    return new StoreUnavailableError(`the journal's PostgreSQL cannot be used now: ${e.message}; nothing was written, tried again later`, { cause: e });
  return e;
}

/** PostgreSQL through a `pg` pool: a transaction holds one client from BEGIN to COMMIT. */
export class PgSql implements Sql {
  readonly dialect = 'pg' as const;
  private readonly als = new AsyncLocalStorage<TxContext & { client: PgQueryable }>();
  private readonly texts = new Map<string, string>();
  private fence: (() => Fence | undefined) | undefined;

  /**
   * From now on every write is fenced: each transaction first takes the
   * account's lease row in key-share mode, as this node holds it at its epoch and
   * unexpired, or commits nothing (DeposedError). A node taking the lease
   * over waits for the transactions that hold it, and their writes are all
   * before its epoch; none comes after. A write outside a transaction runs in
   * one of its own.
   */
  setFence(fence: () => Fence | undefined): void {
    this.fence = fence;
  }

  constructor(
    private readonly pool: PgPoolLike,
    private readonly ownsPool = true,
  ) {}

  private text(sql: string): string {
    let t = this.texts.get(sql);
    if (t === undefined) {
      t = numbered(sql);
      if (this.texts.size > 500) this.texts.clear();
      this.texts.set(sql, t);
    }
    return t;
  }

  private db(): PgQueryable {
    const c = this.als.getStore();
    return c?.owner === this ? c.client : this.pool;
  }

  private async query(sql: string, params: unknown[]): Promise<{ rows: unknown[]; rowCount: number | null }> {
    try {
      return await this.db().query(this.text(sql), params);
    } catch (e) {
      throw storeFault(e);
    }
  }

  async all<T>(sql: string, ...params: unknown[]): Promise<T[]> {
    return (await this.query(sql, params)).rows as T[];
  }

  async get<T>(sql: string, ...params: unknown[]): Promise<T | undefined> {
    return (await this.query(sql, params)).rows[0] as T | undefined;
  }

  async run(sql: string, ...params: unknown[]): Promise<number> {
    if (this.fence && this.als.getStore()?.owner !== this) return this.tx(() => this.run(sql, ...params));
    return (await this.query(sql, params)).rowCount ?? 0;
  }

  async tx<T>(fn: () => Promise<T>, afterCommit?: () => void): Promise<T> {
    const outer = this.als.getStore();
    if (outer?.owner === this) {
      if (afterCommit) outer.after.push(afterCommit);
      return fn();
    }
    const lease = this.fence?.();
    if (this.fence && !lease) throw new DeposedError("this node does not hold the account's lease: nothing is written (it is standby)");
    const client = await this.pool.connect().catch((e: unknown) => {
      throw storeFault(e);
    });
    const ctx = { owner: this, client, after: afterCommit ? [afterCommit] : [] };
    let broken: Error | undefined;
    // The server may end the session between two statements (idle_in_transaction_session_timeout, a restart, a
    // cut): the client then emits 'error', which would end the process without a listener while it is checked out.
    const lost = (e: Error): void => void (broken = e);
    client.on?.('error', lost);
    try {
      await client.query('BEGIN');
      let result: T;
      try {
        if (lease) {
          const held = await client.query('SELECT 1 FROM dmc_leases WHERE account = $1 AND holder = $2 AND epoch = $3 AND expires_at > now() FOR KEY SHARE', [
            lease.account,
            lease.holder,
            lease.epoch,
          ]);
          if (!held.rowCount)
            throw new DeposedError(`the lease of account ${lease.account} is no longer ${lease.holder}'s at epoch ${lease.epoch}: nothing is written`);
        }
        result = await this.als.run(ctx, fn);
        await client.query('COMMIT');
      } catch (e) {
        await client.query('ROLLBACK').catch((r: Error) => (broken = r));
        throw e;
      }
      for (const f of ctx.after) f();
      return result;
    } catch (e) {
      // A COMMIT the connection lost is not known to be committed: said as unavailable, the step runs again from its state.
      throw storeFault(e);
    } finally {
      client.off?.('error', lost);
      client.release(broken);
    }
  }

  inTx(): boolean {
    return this.als.getStore()?.owner === this;
  }

  async close(): Promise<void> {
    if (this.ownsPool) await this.pool.end();
  }
}
