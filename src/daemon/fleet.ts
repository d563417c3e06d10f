/**
 * The nodes that share a configuration's accounts on PostgreSQL (issue
 * #21). Each node says it is alive in one table (`dmc_fleet.nodes`, a row
 * per node renewed every third of the lease's time to live) and reads how
 * many are. With N nodes up and M accounts, a node's share is ceil(M/N):
 *
 * - it takes a free account's lease only while it leads fewer than its share
 *   (the lease gate, asked by each account's LeaseKeeper); an account free
 *   for a whole lease time is taken by any node, so no account is left
 *   without a leader when the nodes disagree on N for a moment;
 * - it hands over what it leads beyond its share (the operation in flight
 *   ends first), so a node that joins gets its share within two lease times;
 * - at stop it leaves the table first, then its daemons hand their accounts
 *   over (a drain).
 *
 * Which account goes where is left to the leases: never two leaders at once
 * (the leases' fencing), whatever the balancing believes.
 */
import { createHash } from 'node:crypto';
import type { Pool } from 'pg';
import type { Lease, LeaseGate } from '../store/lease.js';
import type { Logger } from '../transport/logger.js';
import type { WorkListener } from '../store/pg.js';

/** The notification channel of the nodes sharing accounts (the payload: the fleet's key). */
const FLEET_CHANNEL = 'dmc_fleet';

export interface FleetOptions {
  /** The PostgreSQL store the accounts' journals are in. */
  readonly url: string;
  readonly password?: string;
  /** The service ids of the configuration: nodes balance with the nodes that serve the same ones. */
  readonly accounts: readonly string[];
  readonly node: string;
  /** The accounts' lease time to live. */
  readonly ttlMs: number;
  /** The accounts this node leads now. */
  readonly leading: () => readonly string[];
  /** Asks the daemon of `account` to hand it over; resolves once it did. */
  readonly handOver: (account: string) => Promise<void>;
  /** Each account's lease asked now (after a node said it handed leases over, and the nodes counted again). */
  readonly poke: () => void;
  readonly logger: Logger;
}

export class Fleet {
  /** Nodes alive, this one included, as last read. */
  private live = 1;
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> = Promise.resolve();
  private stopped = false;
  /** One take at a time in this process, so each counts the ones before it. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Leases taken through the gate and not yet seen as led (their keeper sets its state just after). */
  private readonly claimed = new Set<string>();
  private readonly handing = new Set<string>();
  private readonly key: string;
  private listener: WorkListener | undefined;
  private waking: Promise<void> | undefined;

  private constructor(
    private readonly pool: Pool,
    private readonly o: FleetOptions,
  ) {
    this.key = createHash('sha256')
      .update([...o.accounts].sort().join(','))
      .digest('hex')
      .slice(0, 16);
  }

  /** Creates the table if needed, says this node is alive, and keeps saying it every ttl/3. */
  static async start(o: FleetOptions): Promise<Fleet> {
    const { default: pg } = await import('pg');
    const pool = new pg.Pool({
      connectionString: o.url,
      ...(o.password !== undefined ? { password: o.password } : {}),
      max: 2,
      connectionTimeoutMillis: 2_000,
      query_timeout: 2_000,
      application_name: `dmc-trigger fleet ${o.node}`.slice(0, 63),
    });
    pool.on('error', () => undefined);
    const fleet = new Fleet(pool, o);
    try {
      const c = await pool.connect();
      try {
        await c.query('BEGIN');
        // Nodes starting together would collide creating the schema: one at a time (as the migrations).
        await c.query("SELECT pg_advisory_xact_lock(hashtext('dmc-trigger fleet'))");
        await c.query('CREATE SCHEMA IF NOT EXISTS dmc_fleet');
        await c.query(
          'CREATE TABLE IF NOT EXISTS dmc_fleet.nodes (fleet text NOT NULL, node text NOT NULL, expires_at timestamptz NOT NULL, PRIMARY KEY (fleet, node))',
        );
        await c.query('COMMIT');
      } catch (e) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw e;
      } finally {
        c.release();
      }
      await fleet.beat();
    } catch (e) {
      await pool.end().catch(() => undefined);
      throw e;
    }
    fleet.schedule();
    // A node that leaves or hands leases over says so: the others count again and ask the leases now, not at their
    // next third of a lease (a rolling restart's accounts go without a leader only that long).
    const { WorkListener } = await import('../store/pg.js');
    fleet.listener = new WorkListener(o.url, o.password, fleet.key, { changed: () => fleet.wake(), listening: () => undefined }, FLEET_CHANNEL);
    fleet.listener.start();
    return fleet;
  }

  /** Counts the nodes again, then asks every account's lease (one at a time: a burst of notifications is one wake). */
  private wake(): void {
    if (this.stopped || this.waking) return;
    this.waking = (async () => {
      await this.beating;
      this.beating = this.beat().catch((e: Error) => this.o.logger.warn({ err: e.message }, 'cannot count the nodes'));
      await this.beating;
      this.o.poke();
    })().finally(() => (this.waking = undefined));
  }

  /** Tells the other nodes this one left or handed leases over. */
  async notify(): Promise<void> {
    await this.pool.query('SELECT pg_notify($1, $2)', [FLEET_CHANNEL, this.key]).catch(() => undefined);
  }

  /** This node's share of the accounts now: ceil(M/N). */
  get share(): number {
    return Math.ceil(this.o.accounts.length / Math.max(1, this.live));
  }

  /** Nodes alive, this one included, as last read. */
  get nodes(): number {
    return this.live;
  }

  /** Takes a free lease while this node leads fewer than its share, or when it has been free a whole lease time. */
  readonly gate: LeaseGate = <T>(seen: Lease | undefined, take: () => Promise<T>): Promise<T | undefined> => {
    const turn = this.queue.then(async () => {
      if (this.stopped) return undefined;
      const led = new Set([...this.o.leading(), ...this.claimed]).size;
      const orphan = (seen?.freeForMs ?? Infinity) >= this.o.ttlMs;
      if (led >= this.share && !orphan) return undefined;
      const got = await take();
      const l = got as unknown as Lease | undefined;
      if (l && l.holder === this.o.node) this.claimed.add(l.account);
      return got;
    });
    this.queue = turn.catch(() => undefined);
    return turn;
  };

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.beating = this.beat()
        .catch((e: Error) => this.o.logger.warn({ err: e.message }, 'cannot tell the other nodes this one is alive; trying again'))
        .finally(() => this.schedule());
    }, this.o.ttlMs / 3);
    this.timer.unref();
  }

  private async beat(): Promise<void> {
    const r = await this.pool.query<{ n: string }>(
      `WITH me AS (
         INSERT INTO dmc_fleet.nodes (fleet, node, expires_at) VALUES ($1, $2, now() + $3::double precision * interval '1 millisecond')
         ON CONFLICT (fleet, node) DO UPDATE SET expires_at = EXCLUDED.expires_at RETURNING node)
       SELECT count(*) + 1 AS n FROM dmc_fleet.nodes WHERE fleet = $1 AND node <> $2 AND expires_at > now()`,
      [this.key, this.o.node, this.o.ttlMs],
    );
    const live = Number(r.rows[0]?.n ?? 1);
    if (live !== this.live) this.o.logger.info({ nodes: live, share: Math.ceil(this.o.accounts.length / live) }, 'nodes sharing the accounts changed');
    this.live = live;
    this.claimed.clear();
    this.rebalance();
  }

  /** Hands over what this node leads beyond its share: the last ones in the configuration's order. */
  private rebalance(): void {
    if (this.stopped) return;
    const led = this.o.leading().filter((a) => !this.handing.has(a));
    const excess = led.length - this.share;
    for (const account of led.slice(led.length - Math.max(0, excess))) {
      this.handing.add(account);
      this.o.logger.info({ account, share: this.share, nodes: this.live }, 'handing an account over: this node leads more than its share');
      void this.o
        .handOver(account)
        .then(() => this.notify())
        .catch((e: Error) => this.o.logger.warn({ account, err: e.message }, 'hand-over failed'))
        .finally(() => this.handing.delete(account));
    }
  }

  /** Leaves the table and says so (the others count one node fewer now); the daemons then hand over, and close() says it again. */
  async leave(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.beating;
    await this.waking;
    await this.listener?.stop();
    await this.pool.query('DELETE FROM dmc_fleet.nodes WHERE fleet = $1 AND node = $2', [this.key, this.o.node]).catch(() => undefined);
    await this.notify();
  }

  /** After the daemons handed their leases over: says so (the others take them now), and closes. */
  async close(): Promise<void> {
    if (!this.stopped) await this.leave();
    await this.notify();
    await this.pool.end().catch(() => undefined);
  }

  /** Leaves and closes at once (nothing was led yet: a start that failed). */
  async stop(): Promise<void> {
    await this.leave();
    await this.close();
  }
}
