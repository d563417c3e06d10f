/**
 * Issue #20, leases and fencing per DMC account, on a real PostgreSQL
 * (scripts/pg-cluster.sh): one leader per account; a leader that dies is
 * replaced under a new epoch; a leader paused (SIGSTOP) past its lease
 * starts nothing when it resumes and commits nothing; a leader cut from the
 * database stops within its lease and comes back as standby. The migrations
 * are versioned and a newer schema is refused.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { LeaseKeeper, type Role } from '../../src/store/lease.js';
import { fenced, MIGRATIONS, PgStore, redactUrl, StoreError } from '../../src/store/pg.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { freshSchema, pgUrl } from '../helpers/pg-env.js';

const url = pgUrl(import.meta.url);
const TTL = 1_000;
const MARGIN = 200;
const until = async (what: string, cond: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

describe.skipIf(!url)('leases and fencing on PostgreSQL (issue #20)', () => {
  const stores: PgStore[] = [];
  const open = async (schema: string, o: { url?: string; timeoutMs?: number } = {}): Promise<PgStore> => {
    const s = await PgStore.open({ url: o.url ?? url!, schema, timeoutMs: o.timeoutMs ?? 250 });
    stores.push(s);
    return s;
  };
  const keeper = (s: PgStore, node: string): LeaseKeeper => new LeaseKeeper(s.leases(), { account: '12345678', node, ttlMs: TTL, marginMs: MARGIN });
  let admin: pg.Pool;
  beforeAll(() => {
    admin = new pg.Pool({ connectionString: url!, max: 2 });
  });
  afterAll(async () => {
    for (const s of stores) await s.close().catch(() => undefined);
    await admin.end();
  });

  it('migrates once, in any number of nodes at once; refuses a schema newer than it knows; never shows the password', async () => {
    const schema = freshSchema('migrate');
    const [a, b] = await Promise.all([open(schema), open(schema)]);
    const known = MIGRATIONS.at(-1)!.version;
    expect(known).toBeGreaterThanOrEqual(2);
    expect(await a.schemaVersion()).toBe(known);
    expect(await b.schemaVersion()).toBe(known);
    await admin.query(`INSERT INTO ${schema}.dmc_schema_version (version) VALUES (99)`);
    await expect(open(schema)).rejects.toThrow(
      new StoreError(
        `the store's schema ${schema} at ${redactUrl(url!)} is at version 99, newer than this dmc-trigger knows (${known}): upgrade dmc-trigger on this node`,
      ),
    );
    const withSecret = url!.replace('postgres@', 'postgres:s3cret-pw@').replace(/:(\d+)\//, ':1/');
    const err = await open(freshSchema('nope'), { url: withSecret }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect(String((err as Error).message)).not.toContain('s3cret-pw');
    expect((err as Error).message).toContain('***');
  });

  it('one leader; a dead leader is replaced under a new epoch and its fenced changes commit nothing; a drained one hands over at once', async () => {
    const schema = freshSchema('failover');
    const s = await open(schema);
    await admin.query(`CREATE TABLE ${schema}.work (node text, epoch bigint)`);
    const a = keeper(s, 'node-a');
    const b = keeper(s, 'node-b');
    await a.start();
    await b.start();
    expect([a.role, b.role]).toEqual(['leader', 'standby']);
    const first = a.held!;
    expect(first.epoch).toBe(1);
    const insert = (lease: { account: string; holder: string; epoch: number }): Promise<number> =>
      fenced(s.pool, lease, 'INSERT INTO work (node, epoch) SELECT $1, $2 WHERE {fence}', [lease.holder, lease.epoch]);
    expect(await insert(first)).toBe(1);
    // node-a dies (stops renewing, releases nothing): node-b leads within ttl + ttl/3, under epoch 2.
    await a.stop(false);
    await until('node-b leads', () => b.role === 'leader');
    expect(b.held!.epoch).toBe(2);
    expect(await insert(first)).toBe(0);
    expect(await insert(b.held!)).toBe(1);
    // A drain releases the lease: node-a, started again, takes it at its next attempt (epoch 3), not a ttl later.
    const a2 = keeper(s, 'node-a');
    await a2.start();
    expect(a2.role).toBe('standby');
    await b.stop(true);
    await until('node-a leads again', () => a2.role === 'leader', TTL);
    expect(a2.held!.epoch).toBe(3);
    await a2.stop(true);
    const history = (await admin.query(`SELECT epoch, holder FROM ${schema}.dmc_lease_history ORDER BY epoch`)).rows.map(
      (r: { epoch: string; holder: string }) => `${r.epoch} ${r.holder}`,
    );
    expect(history).toEqual(['1 node-a', '2 node-b', '3 node-a']);
  });

  it('a node on its way out (retired) never takes the lease, even once it is free; a retired leader keeps it until it hands it over', async () => {
    const schema = freshSchema('retire');
    const s = await open(schema);
    const a = keeper(s, 'node-a');
    const b = keeper(s, 'node-b');
    await a.start();
    await b.start();
    expect([a.role, b.role]).toEqual(['leader', 'standby']);
    // Both stop at once (SIGTERM to every node): b, retired, must not take what a hands over.
    a.retire();
    b.retire();
    // A retired leader still renews: it leads past a whole lease time.
    const renewals = () => s.pool.query(`SELECT expires_at FROM ${schema}.dmc_leases`).then((r) => String((r.rows[0] as { expires_at: Date }).expires_at));
    const before = await renewals();
    await until('a renewal by the retired leader', async () => (await renewals()) !== before);
    expect(a.role).toBe('leader');
    await a.stop(true);
    // Free now: a standby that was not retired would take it at its next attempt (a third of a lease); b does not.
    const free = await admin.query(`SELECT holder, expires_at <= now() AS free FROM ${schema}.dmc_leases`);
    expect((free.rows[0] as { free: boolean }).free).toBe(true);
    // b's next attempt, run now rather than waited for (its timer runs the same).
    await (b as unknown as { tick(): Promise<void> }).tick();
    expect(b.role).toBe('standby');
    expect((await admin.query(`SELECT holder FROM ${schema}.dmc_lease_history ORDER BY epoch`)).rows.map((r: { holder: string }) => r.holder)).toEqual([
      'node-a',
    ]);
    await b.stop(true);
  });

  it('a leader paused (SIGSTOP) for three leases starts nothing when resumed and commits nothing under its old epoch', { timeout: 60_000 }, async () => {
    const schema = freshSchema('pause');
    const s = await open(schema);
    // now(): the inserting statement's own snapshot time, the one its fence condition was judged at.
    await admin.query(`CREATE TABLE ${schema}.work (node text, epoch bigint, at timestamptz NOT NULL DEFAULT now())`);
    const messages: { type: string; epoch?: number; at?: number; rows?: number; role?: Role }[] = [];
    const child: ChildProcess = fork(new URL('./lease-node.mjs', import.meta.url).pathname, [url!, schema, '12345678', 'node-a', String(TTL), String(MARGIN)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.on('message', (m) => messages.push(m as (typeof messages)[number]));
    try {
      await until('node-a leads and works', () => messages.some((m) => m.type === 'committed' && m.rows === 1));
      const b = keeper(s, 'node-b');
      await b.start();
      expect(b.role).toBe('standby');
      child.kill('SIGSTOP');
      await until('node-b leads', () => b.role === 'leader');
      const takenAt = b.held!.since;
      // node-b works under epoch 2 while node-a sleeps past three leases.
      await new Promise((r) => setTimeout(r, 3 * TTL - (Date.now() - takenAt.getTime())));
      const resumedAt = Date.now();
      child.kill('SIGCONT');
      // Resumed: it says it is standby, and keeps saying nothing else.
      await until('node-a says it is standby', () => messages.some((m) => m.type === 'role' && m.role === 'standby' && m.at! >= resumedAt));
      await new Promise((r) => setTimeout(r, TTL));
      // No request started after the resume. (A reply read after it, to a statement sent and committed before the
      // stop, is no late act: when it was committed is the database's to say, below.)
      const late = messages.filter((m) => m.type === 'act' && m.at! >= resumedAt);
      expect(late).toEqual([]);
      const after = await admin.query(`SELECT count(*)::int n FROM ${schema}.work WHERE epoch = 1 AND at >= $1`, [takenAt]);
      expect(after.rows[0].n).toBe(0);
      expect(b.role).toBe('leader');
      await b.stop(false);
    } finally {
      child.kill('SIGCONT');
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });

  it(
    'a leader cut from PostgreSQL (silent network, three leases) stops within its lease; the other takes over; it comes back as standby',
    { timeout: 60_000 },
    async () => {
      const schema = freshSchema('cut');
      const target = new URL(url!);
      const proxy = new FaultProxy({ host: target.hostname, port: Number(target.port) });
      await proxy.start();
      const viaProxy = new URL(url!);
      viaProxy.port = String(proxy.port);
      const sa = await open(schema, { url: viaProxy.toString() });
      const sb = await open(schema);
      const a = keeper(sa, 'node-a');
      const b = keeper(sb, 'node-b');
      const roles: string[] = [];
      a.on('role', (r) => roles.push(r));
      try {
        await a.start();
        await b.start();
        expect(a.role).toBe('leader');
        // From the cut on, node-a may act for at most what is left of its lease: judged on its own clock, whatever the timers do.
        const cutAt = performance.now();
        expect(a.remainingMs()).toBeLessThanOrEqual(TTL - MARGIN);
        proxy.blackHole(3 * TTL);
        await until('a lease later', () => performance.now() >= cutAt + TTL);
        expect(a.mayAct()).toBe(false);
        expect(a.role).toBe('standby');
        expect(a.renewFailures).toBeGreaterThan(0);
        await until('node-b leads', () => b.role === 'leader');
        // The network comes back: node-a sees node-b's lease and stays standby.
        await until('the cut is over and node-a renewed', () => a.renewFailures === 0, 6 * TTL);
        expect(a.role).toBe('standby');
        expect(roles).toEqual(['leader', 'standby']);
        expect(b.held!.epoch).toBe(2);
      } finally {
        await a.stop(false);
        await b.stop(false);
        await proxy.close();
      }
    },
  );
  it("a standby asking for the lease never waits on the leader's open transactions, nor holds up its renewal", async () => {
    const schema = freshSchema('nowait');
    const [sa, sb] = await Promise.all([open(schema), open(schema)]);
    const leader = await sa.leases().acquire('12345678', 'a', undefined, 30_000);
    // The leader's journal transaction, fenced: it holds the lease row in share mode until it ends.
    const held = await admin.connect();
    try {
      await held.query('BEGIN');
      await held.query(`SELECT 1 FROM ${schema}.dmc_leases WHERE account = '12345678' AND holder = 'a' AND epoch = $1 FOR SHARE`, [leader.epoch]);
      // The standby learns who leads at once (its store times out after 250 ms: a wait on the row would fail it).
      const seen = await sb.leases().acquire('12345678', 'b', undefined, 30_000);
      expect(seen).toMatchObject({ holder: 'a', epoch: leader.epoch });
      // And nothing of it waits in the row's queue: the leader's renewal, behind its own transaction, is not behind b's.
      const waiting = await admin.query(`SELECT count(*)::int n FROM pg_locks WHERE NOT granted`);
      expect(waiting.rows[0].n).toBe(0);
    } finally {
      await held.query('ROLLBACK');
      held.release();
    }
  });
  it("the leader's renewal never waits on its own fenced transactions; a node taking the lease over waits for them all", async () => {
    const schema = freshSchema('keyshare');
    const [sa, sb] = await Promise.all([open(schema), open(schema)]);
    const lease = await sa.leases().acquire('12345678', 'a', undefined, 800);
    // A's journal transaction, fenced as PgSql does it, kept open.
    const held = await admin.connect();
    try {
      await held.query('BEGIN');
      const fence = await held.query(
        `SELECT 1 FROM ${schema}.dmc_leases WHERE account = '12345678' AND holder = 'a' AND epoch = $1 AND expires_at > now() FOR KEY SHARE`,
        [lease.epoch],
      );
      expect(fence.rowCount).toBe(1);
      // A renews at once (its store gives up after 250 ms: a wait on its own transaction would fail it).
      const renewed = await sa.leases().acquire('12345678', 'a', lease.epoch, 800);
      expect(renewed.epoch).toBe(lease.epoch);
      expect(renewed.expiresAt.getTime()).toBeGreaterThan(lease.expiresAt.getTime());
      // Once it has expired, b cannot take it while a's transaction runs: the take waits for it, and gives up.
      await until('the lease expired', async () => (await admin.query(`SELECT expires_at <= now() e FROM ${schema}.dmc_leases`)).rows[0].e === true);
      await expect(sb.leases().acquire('12345678', 'b', undefined, 800)).rejects.toThrow();
    } finally {
      await held.query('ROLLBACK');
      held.release();
    }
    // Transaction over: b takes it, under a newer epoch.
    const taken = await sb.leases().acquire('12345678', 'b', undefined, 800);
    expect(taken).toMatchObject({ holder: 'b', epoch: lease.epoch + 1 });
  });

  it('a gate decides when a free lease is taken (balancing, issue #21); handOver releases it and the keeper stays a standby until the gate lets it take again', async () => {
    const s = await open(freshSchema('gate'));
    let open_ = false;
    const asked: (number | undefined)[] = [];
    const gate = <T>(seen: { freeForMs?: number } | undefined, take: () => Promise<T>): Promise<T | undefined> => {
      asked.push(seen?.freeForMs);
      return open_ ? take() : Promise.resolve(undefined);
    };
    const a = new LeaseKeeper(s.leases(), { account: '12345678', node: 'a', ttlMs: TTL, marginMs: MARGIN, gate });
    await a.start();
    // Never taken: the gate is asked with nothing read, and declines.
    expect(asked[0]).toBeUndefined();
    expect(a.role).toBe('standby');
    expect(await s.leases().read('12345678')).toBeUndefined();
    open_ = true;
    await until('a to take the lease once the gate lets it', () => a.role === 'leader');
    const taken = (await s.leases().read('12345678'))!;
    expect(taken).toMatchObject({ holder: 'a', freeForMs: 0 });
    // Handed over: free at once, and not taken back while the gate declines.
    open_ = false;
    await a.handOver();
    expect(a.role).toBe('standby');
    await until('the lease to be seen free', async () => ((await s.leases().read('12345678'))?.freeForMs ?? 0) > 0);
    const n = asked.length;
    await until('the gate to be asked again with the lease free', () => asked.length > n + 1);
    expect(asked.at(-1)).toBeGreaterThan(0);
    expect(a.role).toBe('standby');
    // Another node, whose gate lets it, takes it under a new epoch.
    const b = new LeaseKeeper(s.leases(), { account: '12345678', node: 'b', ttlMs: TTL, marginMs: MARGIN });
    await b.start();
    expect(b.role).toBe('leader');
    expect(b.held!.epoch).toBe(taken.epoch + 1);
    await a.stop();
    await b.stop();
  });
});
