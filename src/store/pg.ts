/**
 * The PostgreSQL side of the shared state (issue #20): the connection pool,
 * the versioned migrations, and the lease store with its fencing condition.
 * `pg` is loaded here only, when a PostgreSQL store is configured.
 */
import type { Pool, PoolClient } from 'pg';
import type { Lease, LeaseStore } from './lease.js';

export class StoreError extends Error {
  override readonly name = 'StoreError';
}

export interface PgStoreOptions {
  /** postgres://user@host:port/database (the password from passwordFile or the environment, never in logs). */
  readonly url: string;
  readonly password?: string;
  /** The schema holding dmc-trigger's tables (default `dmc`). */
  readonly schema?: string;
  readonly poolSize?: number;
  /** Connecting and each statement give up after this (default 2 s): a lease renewal must fail well within its lease. */
  readonly timeoutMs?: number;
}

/** Versioned migrations: applied in order at start, each in its own transaction, once. */
export const MIGRATIONS: readonly { readonly version: number; readonly what: string; readonly sql: string }[] = [
  {
    version: 1,
    what: 'leases per account, and their history',
    sql: `
CREATE TABLE dmc_leases (
  account text PRIMARY KEY, holder text NOT NULL, epoch bigint NOT NULL, since timestamptz NOT NULL, expires_at timestamptz NOT NULL
);
CREATE TABLE dmc_lease_history (
  account text NOT NULL, epoch bigint NOT NULL, holder text NOT NULL, since timestamptz NOT NULL, PRIMARY KEY (account, epoch)
);`,
  },
];

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** The URL with its password replaced: what logs, status and errors may show. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(an unreadable PostgreSQL URL)';
  }
}

export class PgStore {
  private constructor(
    readonly pool: Pool,
    readonly schema: string,
    private readonly where: string,
  ) {}

  /** Connects, creates the schema if needed and applies the migrations this version knows; refuses a newer schema. */
  static async open(o: PgStoreOptions): Promise<PgStore> {
    const schema = o.schema ?? 'dmc';
    if (!SCHEMA_NAME.test(schema)) throw new StoreError(`store schema '${schema}': use lower-case letters, digits and _ (at most 63), starting with a letter`);
    const { default: pg } = await import('pg');
    const timeout = o.timeoutMs ?? 2_000;
    const pool = new pg.Pool({
      connectionString: o.url,
      ...(o.password !== undefined ? { password: o.password } : {}),
      max: o.poolSize ?? 5,
      connectionTimeoutMillis: timeout,
      query_timeout: timeout,
      options: `-c search_path=${schema}`,
    });
    const where = redactUrl(o.url);
    // An idle client that loses its server is dropped by the pool; without a listener the error would end the process.
    pool.on('error', () => undefined);
    const store = new PgStore(pool, schema, where);
    try {
      await store.migrate();
    } catch (e) {
      await pool.end().catch(() => undefined);
      throw e instanceof StoreError ? e : new StoreError(`PostgreSQL at ${where}: ${(e as Error).message.replaceAll(o.password ?? '\u0000', '***')}`);
    }
    return store;
  }

  private async migrate(): Promise<void> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      // One node migrates at a time (creating the schema included: two at once collide); the others wait, then find
      // nothing to do.
      await c.query("SELECT pg_advisory_xact_lock(hashtext('dmc-trigger migrations'))");
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
      await c.query('CREATE TABLE IF NOT EXISTS dmc_schema_version (version integer NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
      const current = Number((await c.query<{ v: number | null }>('SELECT max(version) v FROM dmc_schema_version')).rows[0]?.v ?? 0);
      const known = MIGRATIONS.at(-1)!.version;
      if (current > known)
        throw new StoreError(
          `the store's schema ${this.schema} at ${this.where} is at version ${current}, newer than this dmc-trigger knows (${known}): upgrade dmc-trigger on this node`,
        );
      for (const m of MIGRATIONS.filter((x) => x.version > current)) {
        await c.query(m.sql);
        await c.query('INSERT INTO dmc_schema_version (version) VALUES ($1)', [m.version]);
      }
      await c.query('COMMIT');
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      c.release();
    }
  }

  async schemaVersion(): Promise<number> {
    return Number((await this.pool.query<{ v: number }>('SELECT max(version) v FROM dmc_schema_version')).rows[0]?.v ?? 0);
  }

  leases(): LeaseStore {
    return new PgLeaseStore(this.pool);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

interface LeaseRow {
  account: string;
  holder: string;
  epoch: string;
  since: Date;
  expires_at: Date;
}
const toLease = (r: LeaseRow): Lease => ({ account: r.account, holder: r.holder, epoch: Number(r.epoch), since: r.since, expiresAt: r.expires_at });

/**
 * The condition that fences a leader's change to its account's rows: true
 * only while `node` holds the lease at `epoch` and it has not expired, in the
 * statement's own snapshot. `$a`, `$n`, `$e` are the placeholders' numbers.
 */
export function fenceCondition(a: number, n: number, e: number): string {
  return `EXISTS (SELECT 1 FROM dmc_leases l WHERE l.account = $${a} AND l.holder = $${n} AND l.epoch = $${e} AND l.expires_at > now())`;
}

/** Runs a fenced statement: `sql` holds `{fence}` where the condition goes; resolves with the rows it changed (0: deposed). */
export async function fenced(
  db: Pool | PoolClient,
  lease: { account: string; holder: string; epoch: number },
  sql: string,
  params: readonly unknown[],
): Promise<number> {
  const n = params.length;
  const r = await db.query(sql.replace('{fence}', fenceCondition(n + 1, n + 2, n + 3)), [...params, lease.account, lease.holder, lease.epoch]);
  return r.rowCount ?? 0;
}

class PgLeaseStore implements LeaseStore {
  constructor(private readonly pool: Pool) {}

  async acquire(account: string, node: string, epoch: number | undefined, ttlMs: number): Promise<Lease> {
    // One statement: renew when this node holds it at its epoch and it has not expired; take it with a new epoch
    // when it is free or expired; otherwise change nothing. Each new epoch goes to the history.
    const renew = 'dmc_leases.holder = $2 AND dmc_leases.epoch = $3 AND dmc_leases.expires_at > now()';
    const r = await this.pool.query<LeaseRow>(
      `WITH up AS (
         INSERT INTO dmc_leases AS dmc_leases (account, holder, epoch, since, expires_at)
         VALUES ($1, $2, 1, now(), now() + $4::double precision * interval '1 millisecond')
         ON CONFLICT (account) DO UPDATE SET
           holder = EXCLUDED.holder,
           epoch = CASE WHEN ${renew} THEN dmc_leases.epoch ELSE dmc_leases.epoch + 1 END,
           since = CASE WHEN ${renew} THEN dmc_leases.since ELSE now() END,
           expires_at = EXCLUDED.expires_at
         WHERE (${renew}) OR dmc_leases.expires_at <= now()
         RETURNING *),
       hist AS (
         INSERT INTO dmc_lease_history (account, epoch, holder, since) SELECT account, epoch, holder, since FROM up WHERE since = now()
         ON CONFLICT DO NOTHING)
       SELECT * FROM up`,
      [account, node, epoch ?? null, ttlMs],
    );
    if (r.rows[0]) return toLease(r.rows[0]);
    const held = await this.read(account);
    if (!held) throw new StoreError(`the lease of account ${account} vanished while it was being taken`);
    return held;
  }

  async release(account: string, node: string, epoch: number): Promise<void> {
    // Expired now: the next node takes it at its next attempt, with a new epoch.
    await this.pool.query('UPDATE dmc_leases SET expires_at = now() WHERE account = $1 AND holder = $2 AND epoch = $3', [account, node, epoch]);
  }

  async read(account: string): Promise<Lease | undefined> {
    const r = await this.pool.query<LeaseRow>('SELECT * FROM dmc_leases WHERE account = $1', [account]);
    return r.rows[0] ? toLease(r.rows[0]) : undefined;
  }
}
