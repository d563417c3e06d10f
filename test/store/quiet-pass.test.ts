/**
 * Issue #20, a pass on PostgreSQL: each read is a round trip, so an idle
 * daemon's passes read nothing until the store notifies a change (migration
 * 5's triggers, on a connection of the journal's own). Counted, not timed:
 * the statements each pass sends. A change made by another process (a CLI,
 * another node's receiver) makes the next pass read; so do a lost
 * listening connection and, at the latest, ten seconds.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { Journal } from '../../src/store/journal.js';
import type { Sql } from '../../src/store/sql.js';
import { silentLogger } from '../../src/transport/logger.js';
import { freshSchema, pgUrl } from '../helpers/pg-env.js';

const url = pgUrl(import.meta.url);
const root = mkdtempSync(join(tmpdir(), 'dmc-quiet-'));

interface Driven {
  open(): Promise<void>;
  pass(): Promise<boolean>;
  schedule: { due: () => boolean };
  journal: Journal;
  lease: { start(): Promise<void>; stop(): Promise<void>; mayAct(): boolean };
}

const until = async (what: string, cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

/** Records the statements sent through `sql` into `sent`. */
function count(sql: Sql, sent: string[]): void {
  for (const m of ['all', 'get', 'run'] as const) {
    const f = sql[m].bind(sql) as (q: string, ...p: unknown[]) => Promise<unknown>;
    (sql as unknown as Record<string, unknown>)[m] = (q: string, ...p: unknown[]) => {
      sent.push(q.replace(/\s+/g, ' ').slice(0, 60));
      return f(q, ...p);
    };
  }
}

describe.skipIf(!url)('a daemon pass on PostgreSQL reads only after a change (issue #20)', () => {
  const opened: { stop(): Promise<void> }[] = [];
  afterEach(async () => {
    vi.restoreAllMocks();
    for (const o of opened.splice(0)) await o.stop();
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  /** A daemon on a schema of its own, leading its account, driven pass by hand; `sent` holds what its passes send. */
  async function daemonOn(label: string): Promise<{ daemon: Driven; schema: string; sent: string[]; folder: string }> {
    const schema = freshSchema(label);
    const dir = join(root, schema);
    mkdirSync(join(dir, 'drop'), { recursive: true });
    writeFileSync(join(dir, 'cmd.yaml'), 'serviceId: "12345678"\n');
    // A transport that is never used: nothing is in flight, and report collection is off.
    const yaml = `service: {serviceId: "12345678"}\ntransport: {protocol: sftp, host: 127.0.0.1, port: 9, username: x, password: x, hostKey: "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}\ndaemon:\n  journal: "${url}"\n  store: {schema: ${schema}, node: quiet-a}\n  dropFolders:\n    - {path: ${join(dir, 'drop')}, command: ${join(dir, 'cmd.yaml')}}\n`;
    const daemon = new Daemon(await parseConfig(yaml, join(dir, 'dmc.yaml')), silentLogger) as unknown as Driven;
    daemon.schedule.due = () => false;
    await daemon.open();
    await daemon.lease.start();
    await until('the lease', () => daemon.lease.mayAct());
    opened.push({
      stop: async () => {
        await daemon.lease.stop();
        await daemon.journal.close();
      },
    });
    const sent: string[] = [];
    count(daemon.journal.sql, sent);
    return { daemon, schema, sent, folder: join(dir, 'drop') };
  }

  /** Passes until one sends nothing (the listening connection is up and a pass found nothing to do). */
  async function quietened(daemon: Driven, sent: string[]): Promise<void> {
    await until('a pass that reads nothing', async () => {
      sent.length = 0;
      await daemon.pass();
      return sent.length === 0;
    });
  }

  const otherJournal = async (schema: string): Promise<Journal> => {
    const j = await Journal.open(url!, 'shared', { schema });
    opened.push({ stop: () => j.close() });
    return j;
  };

  it('sends no statement while nothing changes; an input written by another process makes the next pass read and act', async () => {
    const { daemon, schema, sent, folder } = await daemonOn('idle');
    await quietened(daemon, sent);
    for (let i = 0; i < 3; i++) {
      expect(await daemon.pass()).toBe(false);
      expect(sent).toEqual([]);
    }
    // Another process (a CLI, another node) writes an input: its notification makes the daemon's next pass read.
    const cli = await otherJournal(schema);
    await cli.sql.run(
      "INSERT INTO inputs (folder, name, hash, size, state, kind, work_path, created_at, updated_at, settled) VALUES (?, 'late.csv', 'h', 1, 'done', 'export', '', 'x', 'x', 0)",
      folder,
    );
    await until('the notification', () => !daemon.journal.quiet());
    await daemon.pass();
    expect(sent).toContain('SELECT DISTINCT state FROM inputs WHERE settled = 0');
    expect(sent.some((q) => q.startsWith('SELECT * FROM inputs WHERE settled = 0'))).toBe(true);
  });

  it('reads the due results files after another node records a status that makes one due', async () => {
    const { daemon, schema, sent } = await daemonOn('due');
    await quietened(daemon, sent);
    const receiver = await otherJournal(schema);
    await receiver.sql.run('INSERT INTO results_due (input_id) VALUES (4242)');
    await until('the notification', () => !daemon.journal.quiet());
    sent.length = 0;
    await daemon.pass();
    expect(sent.some((q) => q.startsWith('SELECT input_id FROM results_due'))).toBe(true);
  });

  it('notifies only for a statement that changed a row: a status whose input is already due says nothing', async () => {
    const { schema } = await daemonOn('fold');
    const listener = new pg.Client({ connectionString: url! });
    await listener.connect();
    opened.push({ stop: () => listener.end() });
    const heard: string[] = [];
    // Only this test's schema: other test files notify the same channel for theirs at the same time.
    listener.on('notification', (n) => {
      if (n.payload === schema) heard.push(`${n.channel} ${n.payload}`);
    });
    await listener.query('LISTEN dmc_work');
    const other = await otherJournal(schema);
    await other.sql.run('INSERT INTO results_due (input_id) VALUES (7)');
    await until('the first notification', () => heard.length === 1);
    // Already due: no row changed, no notification. An update that matches nothing: none either.
    await other.sql.run('INSERT INTO results_due (input_id) VALUES (7) ON CONFLICT DO NOTHING');
    await other.sql.run("UPDATE inputs SET state = 'done' WHERE id = -1");
    await other.sql.run('INSERT INTO results_due (input_id) VALUES (8)');
    // Notifications arrive in commit order: when the last one is here, any of the two before it would be too.
    await until('the last notification', () => heard.length >= 2);
    expect(heard).toEqual([`dmc_work ${schema}`, `dmc_work ${schema}`]);
  });

  it('reads on every pass while its listening connection is lost, and is quiet again once it is back', async () => {
    const { daemon, schema, sent } = await daemonOn('lost');
    await quietened(daemon, sent);
    const admin = new pg.Client({ connectionString: url! });
    await admin.connect();
    opened.push({ stop: () => admin.end() });
    const killed = await admin.query<{ ok: boolean }>('SELECT pg_terminate_backend(pid) ok FROM pg_stat_activity WHERE application_name = $1', [
      `dmc-trigger ${schema} listener`,
    ]);
    expect(killed.rows.map((r) => r.ok)).toEqual([true]);
    await until('the lost connection', () => !daemon.journal.quiet());
    sent.length = 0;
    await daemon.pass();
    expect(sent.length).toBeGreaterThan(0);
    // Reconnected: quiet again (bounded wait; the reconnection's first attempt is after half a second).
    await quietened(daemon, sent);
    const back = await admin.query<{ n: number }>('SELECT count(*)::int n FROM pg_stat_activity WHERE application_name = $1', [
      `dmc-trigger ${schema} listener`,
    ]);
    expect(back.rows[0]?.n).toBe(1);
  });

  it('reads at least every ten seconds however quiet, and after taking the lease again', async () => {
    const { daemon, sent } = await daemonOn('bound');
    await quietened(daemon, sent);
    const t0 = Date.now();
    vi.spyOn(Date, 'now').mockImplementation(() => t0 + 10_001);
    await daemon.pass();
    expect(sent).toContain('SELECT DISTINCT state FROM inputs WHERE settled = 0');
    vi.restoreAllMocks();
    await quietened(daemon, sent);
    // A change this node cannot have been notified of, as far as it knows: the lease taken (again).
    (daemon as unknown as { roleChanged(r: string, l: { epoch: number }): void }).roleChanged('leader', { epoch: 1 });
    sent.length = 0;
    await daemon.pass();
    expect(sent).toContain('SELECT DISTINCT state FROM inputs WHERE settled = 0');
  });
});
