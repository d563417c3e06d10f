/**
 * Issue #20, push statuses on PostgreSQL: fault tests 4 and 5, and the
 * durability setting the receiver checks at start. A status answered 200 is
 * committed in PostgreSQL, recorded once, whichever receiver took it and
 * whatever happened to the database or the other receiver. Seeded:
 * DMC_PUSH_PG_SEED replays the statuses posted and the moments of the faults.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { writePushReport, type PushElement } from '../../src/formats/push.js';
import { freePort, Pair, until } from '../helpers/pair.js';
import { freshSchema, pgUrl } from '../helpers/pg-env.js';
import { rng } from '../helpers/random.js';

const PG = pgUrl(import.meta.url);
const repo = new URL('../../', import.meta.url).pathname;
const bin = join(repo, 'dist/cli/main.js');
const seed = Number(process.env['DMC_PUSH_PG_SEED'] ?? Date.now() % 100_000);

/** One POST as the platform made it, and its answer. */
interface Answer {
  readonly status: number;
  readonly retryAfter: string | null;
  readonly started: number;
  readonly ended: number;
}

/**
 * The platform's side: posters that send reports of unique statuses to the
 * receivers in turn; a report not answered 200 is posted again later (to
 * the other receiver, as a load balancer would), until it is.
 */
class Platform {
  readonly acked: string[] = [];
  readonly answers: Answer[] = [];
  private readonly unacked: PushElement[][] = [];
  private next = 0;
  private running = false;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly origins: () => string[],
    private readonly random: () => number,
  ) {}

  private report(): PushElement[] {
    const n = this.next++;
    return Array.from({ length: 1 + Math.floor(this.random() * 3) }, (_, k) => ({
      medium: 'sms' as const,
      to: `+3360000${String(n).padStart(4, '0')}`,
      status: 'SENT',
      callId: `${n}-${k}`,
      broadcastId: String(700_000 + n),
      contactId: String(k),
      refExterne: '',
      spaceId: '1',
      date: '2026-12-03 10:00:00',
      history: [{ type: 'SENT', date: '2026-12-03 10:00:00', seq: 0 }],
    }));
  }

  /** Posts one report to the n-th receiver; true when it was answered 200. */
  async post(elements: PushElement[], n: number): Promise<boolean> {
    const origins = this.origins();
    const started = Date.now();
    try {
      const res = await fetch(`${origins[n % origins.length]}/dmc/status`, {
        method: 'POST',
        headers: { 'content-type': 'text/xml' },
        body: writePushReport('12345678', elements),
        signal: AbortSignal.timeout(20_000),
      });
      await res.text();
      this.answers.push({ status: res.status, retryAfter: res.headers.get('retry-after'), started, ended: Date.now() });
      if (res.status !== 200) return false;
      for (const e of elements) this.acked.push(`${e.broadcastId}/${e.contactId}`);
      return true;
    } catch {
      // A receiver killed or not listening: no answer, so nothing was acknowledged.
      return false;
    }
  }

  start(loops: number): void {
    this.running = true;
    this.loops = Array.from({ length: loops }, async (_, i) => {
      for (let k = i; this.running; k++) {
        const r = this.unacked.shift() ?? this.report();
        if (!(await this.post(r, k))) {
          this.unacked.push(r);
          await new Promise((res) => setTimeout(res, 100));
        }
      }
    });
  }

  /** Stops posting new reports, then posts what is not acknowledged yet until it is. */
  async finish(ms = 60_000): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    const end = Date.now() + ms;
    for (let k = 0; this.unacked.length > 0; k++) {
      if (Date.now() > end) throw new Error(`${this.unacked.length} report(s) never acknowledged`);
      const r = this.unacked.shift()!;
      if (!(await this.post(r, k))) {
        this.unacked.push(r);
        await new Promise((res) => setTimeout(res, 200));
      }
    }
  }

  get posted(): number {
    return this.next;
  }
}

/** Acknowledged statuses missing from the store, and statuses recorded more than once. */
async function judge(client: pg.Pool | pg.Client, schema: string, acked: readonly string[]): Promise<{ missing: string[]; twice: string[]; rows: number }> {
  const r = await client.query<{ k: string; n: number }>(
    `SELECT broadcast_id || '/' || contact_id k, count(*)::int n FROM ${schema}.push_statuses WHERE broadcast_id::bigint >= 700000 GROUP BY 1`,
  );
  const seen = new Map(r.rows.map((x) => [x.k, x.n]));
  return {
    missing: acked.filter((k) => !seen.has(k)),
    twice: [...seen].filter(([, n]) => n > 1).map(([k]) => k),
    rows: r.rows.length,
  };
}

const reachable = async (origin: string): Promise<boolean> =>
  fetch(`${origin}/dmc/status`)
    .then((r) => r.status === 405)
    .catch(() => false);

describe.skipIf(!PG)('push statuses on PostgreSQL (issue #20)', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  it('PostgreSQL stopped in the middle of a run: pushes get 503 with Retry-After meanwhile, none acknowledged is lost; both nodes reconnect and finish', async () => {
    const random = rng(seed);
    // A cluster of its own: this test stops it.
    const dir = join(tmpdir(), `dmc-pg-halt-${randomBytes(4).toString('hex')}`);
    const cluster = (cmd: string): string => {
      const r = spawnSync('bash', [join(repo, 'scripts/pg-cluster.sh'), cmd], { env: { ...process.env, DMC_PG_DIR: dir }, encoding: 'utf8', timeout: 90_000 });
      if (r.status !== 0) throw new Error(`pg-cluster.sh ${cmd}: ${r.stderr}${r.stdout}`);
      return r.stdout.trim();
    };
    const url = cluster('start');
    cleanup.push(() => void cluster('stop'));
    const p = new Pair({ label: 'pghalt', pgUrl: url, push: true });
    cleanup.push(() => p.stop());
    await p.start();
    const origins = ['a', 'b'].map((n) => `http://127.0.0.1:${p.pushPorts.get(n)}`);
    const N = 100;
    try {
      p.startNode('a');
      await until('node a leads', async () => (await p.leader()) === 'a', 30_000);
      p.startNode('b');
      await until('both receivers listen', async () => (await reachable(origins[0]!)) && (await reachable(origins[1]!)), 30_000);
      const platform = new Platform(() => origins, random);
      platform.start(6);
      p.dropExports(N, 'PH');
      const outage = 3000 + Math.floor(random() * 3000);
      console.info(`database stop test: seed ${seed}, PostgreSQL stopped for ${outage} ms (DMC_PUSH_PG_SEED=${seed} replays it)`);
      await until('some exports sent', () => p.sent() >= 10, 60_000);
      cluster('halt');
      const haltedAt = Date.now();
      await new Promise((r) => setTimeout(r, outage));
      const resumedAt = Date.now();
      cluster('resume');
      await until(`all ${N} exports sent (${p.sent()} so far)`, () => p.sent() === N, 180_000);
      await platform.finish();
      // While the database was down: no 200, and the refusals said when to come back.
      const during = platform.answers.filter((a) => a.started >= haltedAt && a.ended <= resumedAt);
      expect(during.filter((a) => a.status === 200)).toEqual([]);
      expect(during.filter((a) => a.status === 503).length).toBeGreaterThan(0);
      expect(during.filter((a) => a.status === 503 && !a.retryAfter)).toEqual([]);
      const verdict = await judge(p.admin, p.schema, platform.acked);
      expect(verdict.missing).toEqual([]);
      expect(verdict.twice).toEqual([]);
      expect(verdict.rows).toBe(platform.acked.length);
      // Both nodes came back: alive, one of them leads, every export created once.
      expect([...p.nodes.values()].map((n) => n.exitCode)).toEqual([null, null]);
      expect(['a', 'b']).toContain(await p.leader());
      expect(p.notOnce(N, 'PH')).toEqual([]);
      await until('every sent hook delivered', () => p.hooksMissing(N).length === 0, 30_000);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${p.logsText()}`, { cause: e });
    }
  }, 300_000);

  it('two receivers under push load, one SIGKILLed every few seconds: every acknowledged status is recorded exactly once', async () => {
    const random = rng(seed + 1);
    const root = mkdtempSync(join(tmpdir(), 'dmc-push-pair-'));
    const schema = freshSchema('pushpair');
    const admin = new pg.Client({ connectionString: PG! });
    await admin.connect();
    cleanup.push(async () => {
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
      await admin.end();
      rmSync(root, { recursive: true, force: true });
    });
    writeFileSync(
      join(root, 'push.yaml'),
      [
        'service: {serviceId: "12345678"}',
        `push: {listen: "127.0.0.1:0", path: /dmc/status, journal: "${PG!}"}`,
        `daemon: {journal: "${PG!}", store: {schema: ${schema}}, dropFolders: [{path: drop, command: cmd.yaml}]}`,
      ].join('\n'),
    );
    const ports = [await freePort(), await freePort()];
    const origins = ports.map((port) => `http://127.0.0.1:${port}`);
    const receivers: (ChildProcess | undefined)[] = [];
    const logs: string[] = ['', ''];
    const startReceiver = (i: number): void => {
      const c = spawn(process.execPath, [bin, 'push-receiver', '--config', join(root, 'push.yaml'), '--log-level', 'warn'], {
        cwd: root,
        env: { ...process.env, DMC_PUSH_LISTEN: `127.0.0.1:${ports[i]}` },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const keep = (d: Buffer): void => void (logs[i] = (logs[i]! + d.toString()).slice(-20_000));
      c.stdout!.on('data', keep);
      c.stderr!.on('data', keep);
      receivers[i] = c;
    };
    const exited = (c: ChildProcess): Promise<void> => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r())));
    cleanup.push(async () => {
      for (const c of receivers) c?.kill('SIGKILL');
      await Promise.all(receivers.map((c) => c && exited(c)));
    });
    try {
      startReceiver(0);
      startReceiver(1);
      await until('both receivers listen', async () => (await reachable(origins[0]!)) && (await reachable(origins[1]!)), 30_000);
      const platform = new Platform(() => origins, random);
      platform.start(12);
      const kills = 4;
      console.info(`receiver kill test: seed ${seed} (DMC_PUSH_PG_SEED=${seed} replays it)`);
      for (let k = 0; k < kills; k++) {
        await new Promise((r) => setTimeout(r, 1000 + Math.floor(random() * 2000)));
        const i = Math.floor(random() * 2);
        receivers[i]!.kill('SIGKILL');
        await exited(receivers[i]!);
        startReceiver(i);
        await until(`receiver ${i} back`, () => reachable(origins[i]!), 30_000);
      }
      await platform.finish();
      expect(platform.acked.length).toBeGreaterThan(200);
      const verdict = await judge(admin, schema, platform.acked);
      expect(verdict.missing).toEqual([]);
      expect(verdict.twice).toEqual([]);
      expect(verdict.rows).toBe(platform.acked.length);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- receiver 0 ---\n${logs[0]}\n--- receiver 1 ---\n${logs[1]}`, { cause: e });
    }
  }, 240_000);
  it('refuses to start on a database that commits without waiting for the disk (synchronous_commit off), unless told', async () => {
    const root = mkdtempSync(join(tmpdir(), 'dmc-push-async-'));
    const db = `dmc_async_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: PG! });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${db}`);
    await admin.query(`ALTER DATABASE ${db} SET synchronous_commit = off`);
    cleanup.push(async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch(() => undefined);
      await admin.end();
      rmSync(root, { recursive: true, force: true });
    });
    const url = new URL(PG!);
    url.pathname = `/${db}`;
    const write = (extra: string): void =>
      writeFileSync(
        join(root, 'push.yaml'),
        `service: {serviceId: "12345678"}\npush: {listen: "127.0.0.1:0", path: /dmc/status, journal: "${url.toString()}"${extra}}\n`,
      );
    write('');
    const refused = spawnSync(process.execPath, [bin, 'push-receiver', '--config', join(root, 'push.yaml')], { cwd: root, encoding: 'utf8', timeout: 30_000 });
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(
      /^error: PostgreSQL at postgres:\/\/.* commits with synchronous_commit = off: .*push\.allowAsyncCommit: true to accept that\n$/,
    );
    // Told: it starts, and says so.
    write(', allowAsyncCommit: true');
    const c = spawn(process.execPath, [bin, 'push-receiver', '--config', join(root, 'push.yaml'), '--log-level', 'warn'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    c.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await until('the receiver started, warning', () => /push receiver on http/.test(out) && /synchronous_commit = off/.test(out), 30_000);
    } finally {
      c.kill('SIGTERM');
      await new Promise((r) => (c.exitCode !== null ? r(undefined) : c.once('exit', r)));
    }
  });
});
