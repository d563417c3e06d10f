/**
 * An active/standby pair on one PostgreSQL journal (issue #20): two daemons,
 * the same configuration, nodes `a` and `b` (DMC_NODE), the same drop folder.
 * The leader is SIGKILLed at moments drawn from a seed (DMC_FAILOVER_SEED
 * replays them) and restarted; the other takes the account's lease and
 * finishes. Judged on the simulated platform's own records: every export
 * sent exactly once; and on the lease history: one holder per epoch, epochs
 * in order, both nodes led.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { Simulator } from '../../src/simulator/simulator.js';
import { broadcastsWith } from '../helpers/platform-record.js';
import { freshSchema, pgUrl } from '../helpers/pg-env.js';
import { rng } from '../helpers/random.js';

const PG = pgUrl(import.meta.url);
const repo = new URL('../../', import.meta.url).pathname;
const bin = join(repo, 'dist/cli/main.js');
const N = 60;

const until = async (what: string, cond: () => boolean | Promise<boolean>, ms: number): Promise<void> => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

describe.skipIf(!PG)('an active/standby pair on PostgreSQL (issue #20)', () => {
  let root: string;
  let sim: Simulator;
  let admin: pg.Client;
  const schema = freshSchema('failover');
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'dmc-failover-'));
    sim = new Simulator({
      root: join(root, 'sim'),
      accounts: [{ serviceId: '12345678', username: 'dmc', password: 'pw' }],
      sftpPort: 0,
      interval: 0.2,
      seed: 'failover',
      autoReports: false,
    });
    await sim.start();
    admin = new pg.Client({ connectionString: PG! });
    await admin.connect();
  });
  afterAll(async () => {
    await sim.stop();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await admin.end();
    rmSync(root, { recursive: true, force: true });
  });

  it('the leader SIGKILLed again and again: the standby takes over and every export is sent exactly once', async () => {
    const drop = join(root, 'drop');
    mkdirSync(drop, { recursive: true });
    writeFileSync(
      join(root, 'cmd.yaml'),
      'serviceId: "12345678"\nspaceId: 1\nbroadcastName: "Relance {file}"\nscenarioId: 40\ncallPlanningId: 41\nmessages:\n  - customizableId: 10\n    multimediaType: TXT\n    text: Bonjour\n',
    );
    const config = join(root, 'dmc.yaml');
    writeFileSync(
      config,
      [
        'service: {serviceId: "12345678"}',
        `transport: {protocol: sftp, host: 127.0.0.1, port: ${sim.sftp!.port}, username: dmc, password: pw, hostKey: "${sim.fingerprint}"}`,
        'timeouts: {connect: 5, documentsTaken: 10, outcome: 30, poll: 0.2}',
        'retries: {attempts: 2, minDelay: 0.05, maxDelay: 0.2}',
        'daemon:',
        `  journal: "${PG!}"`,
        // A short lease: the test waits for takeovers, not for the default 6 s.
        `  store: {schema: ${schema}, leaseSeconds: 2, leaseMarginSeconds: 0.5}`,
        '  stableSeconds: 0.3',
        '  rescanSeconds: 1',
        '  dropFolders:',
        '    - {path: drop, command: cmd.yaml}',
      ].join('\n'),
    );
    const nodes = new Map<string, ChildProcess>();
    const logs = new Map<string, string>();
    const startNode = (name: string): void => {
      const p = spawn(process.execPath, [bin, 'daemon', '--config', config, '--log-level', 'warn'], {
        cwd: root,
        env: { ...process.env, DMC_NODE: name },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const keep = (c: Buffer): void => void logs.set(name, ((logs.get(name) ?? '') + c.toString()).slice(-20_000));
      p.stdout!.on('data', keep);
      p.stderr!.on('data', keep);
      nodes.set(name, p);
    };
    const leader = async (): Promise<string | undefined> => {
      const r = await admin
        .query<{ holder: string }>(`SELECT holder FROM ${schema}.dmc_leases WHERE account = '12345678' AND expires_at > now()`)
        .catch(() => ({ rows: [] }));
      return r.rows[0]?.holder;
    };
    const exited = (p: ChildProcess): Promise<void> => new Promise((r) => (p.exitCode !== null || p.signalCode !== null ? r() : p.once('exit', () => r())));

    startNode('a');
    await until('node a leads', async () => (await leader()) === 'a', 30_000);
    startNode('b');
    for (let i = 0; i < N; i++) writeFileSync(join(drop, `f-${i}.csv`), `Nom;Mobile;Référence\nDupont;0612345678;FO${i}-0\nMartin;0612345679;FO${i}-1\n`);
    const seed = Number(process.env['DMC_FAILOVER_SEED'] ?? Date.now() % 100_000);
    const random = rng(seed);
    console.info(`failover test: seed ${seed} (DMC_FAILOVER_SEED=${seed} replays these kill times)`);
    const sent = (): number => (existsSync(join(drop, 'sent')) ? readdirSync(join(drop, 'sent')).filter((f) => /^f-\d+\.csv$/.test(f)).length : 0);
    let kills = 0;
    try {
      for (let k = 0; k < 4 && sent() < N; k++) {
        await new Promise((r) => setTimeout(r, 1000 + Math.floor(random() * 2000)));
        const l = await leader();
        if (!l) continue;
        const p = nodes.get(l)!;
        p.kill('SIGKILL');
        await exited(p);
        kills++;
        const other = l === 'a' ? 'b' : 'a';
        await until(`node ${other} takes over from ${l}`, async () => (await leader()) === other, 20_000);
        startNode(l);
      }
      await until(`all ${N} exports sent (${sent()} so far)`, () => sent() === N, 120_000);
      expect(kills).toBeGreaterThanOrEqual(2);
      // Exactly once, on the platform's own records.
      const counts = Array.from({ length: N }, (_, i) => broadcastsWith(join(root, 'sim'), `FO${i}-0`));
      expect(counts.filter((c) => c !== 1).map((c, i) => `FO${i}: ${c}`)).toEqual([]);
      expect(readdirSync(drop).filter((f) => f.endsWith('.csv'))).toEqual([]);
      // One holder per epoch, the epochs in the order they were taken; both nodes led.
      const history = await admin.query<{ epoch: string; holder: string }>(
        `SELECT epoch, holder FROM ${schema}.dmc_lease_history WHERE account = '12345678' ORDER BY since`,
      );
      const epochs = history.rows.map((r) => Number(r.epoch));
      expect(epochs).toEqual([...epochs].sort((x, y) => x - y));
      expect(new Set(history.rows.map((r) => r.holder))).toEqual(new Set(['a', 'b']));
      // Each input's last transition names the node and the epoch that made it.
      const rows = await admin.query<{ name: string; state: string; node: string; epoch: string }>(
        `SELECT name, state, node, epoch FROM ${schema}.inputs WHERE name LIKE 'f-%'`,
      );
      expect(rows.rows.filter((r) => !((r.node === 'a' || r.node === 'b') && epochs.includes(Number(r.epoch))))).toEqual([]);
      // `status --json` on any host shows the leader, since when, its epoch and the lease's expiry.
      const status = spawnSync(process.execPath, [bin, 'status', '--config', config, '--json'], { cwd: root, encoding: 'utf8', timeout: 30_000 });
      expect(status.status, status.stderr).toBe(0);
      const shown = JSON.parse(status.stdout) as {
        lease: { holder: string; epoch: number; since: string; expiresAt: string; live: boolean };
        recent: { node: string }[];
      };
      expect(shown.lease.holder).toBe(await leader());
      expect(shown.lease.epoch).toBe(Math.max(...epochs));
      expect(shown.lease.live).toBe(true);
      expect(shown.lease.since).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(shown.recent.every((r) => r.node === 'a' || r.node === 'b')).toBe(true);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- node a ---\n${logs.get('a') ?? ''}\n--- node b ---\n${logs.get('b') ?? ''}`, { cause: e });
    } finally {
      for (const p of nodes.values()) p.kill('SIGTERM');
      await Promise.all([...nodes.values()].map(exited));
    }
  }, 240_000);
});
