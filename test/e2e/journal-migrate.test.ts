/**
 * `journal migrate` (issue #20): a single host's SQLite journal moved into
 * the PostgreSQL store, as an operator does it: the daemon stopped, the
 * command run, the daemon started again on PostgreSQL. What the journal
 * knew comes along: an export sent before the move is still refused as a
 * duplicate after it, and new inputs are numbered after the old ones.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { silentLogger } from '../../src/transport/logger.js';
import { freshSchema, pgUrl } from '../helpers/pg-env.js';
import { broadcastsWith } from '../helpers/platform-record.js';
import { smsCommand, startSimDaemon, type SimDaemon } from '../helpers/sim-daemon.js';

const PG = pgUrl(import.meta.url);
const bin = join(new URL('../../', import.meta.url).pathname, 'dist/cli/main.js');

const until = async (what: string, cond: () => boolean, ms = 30_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe.skipIf(!PG)('journal migrate: SQLite to PostgreSQL (issue #20)', () => {
  let s: SimDaemon | undefined;
  const schema = freshSchema('migrate');
  afterAll(async () => {
    const admin = new pg.Client({ connectionString: PG! });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
    await s?.stop();
  });

  it('copies a stopped daemon’s journal once; the daemon on PostgreSQL still refuses what was sent before; a second run does nothing', async () => {
    s = await startSimDaemon({ seed: 'migrate', commands: { 'cmd.yaml': smsCommand('Migrate {file}') }, folders: ['{path: drop, command: cmd.yaml}'] });
    const drop = join(s.root, 'drop');
    const exportOf = (ref: string): string => `Nom;Mobile;Référence\nDupont;0612345678;${ref}\n`;
    writeFileSync(join(drop, 'a.csv'), exportOf('MG-A'));
    writeFileSync(join(drop, 'b.csv'), exportOf('MG-B'));
    await until('both sent', () => existsSync(join(drop, 'sent', 'a.csv')) && existsSync(join(drop, 'sent', 'b.csv')));
    const pgText = readFileSync(s.configPath, 'utf8').replace('  journal: state/journal.db', `  journal: "${PG!}"\n  store: {schema: ${schema}}`);
    writeFileSync(join(s.root, 'dmc-pg.yaml'), pgText);
    const migrate = (config = 'dmc-pg.yaml', from = 'state/journal.db') =>
      spawnSync(process.execPath, [bin, 'journal', 'migrate', '--config', config, '--from', from], { cwd: s!.root, encoding: 'utf8', timeout: 60_000 });

    // The daemon still runs on the SQLite journal: refused, nothing copied.
    const busy = migrate();
    expect(busy.status, busy.stderr).toBe(2);
    expect(busy.stderr).toMatch(/^error: another daemon \(pid \d+\) uses this journal .*stop it first$/m);
    await s.daemon.stop();

    const done = migrate();
    expect(done.status, done.stderr).toBe(0);
    expect(done.stdout).toMatch(
      /^copied state\/journal\.db into postgres:\/\/.*: inputs 2, triggers 2, .*start the daemons with daemon\.journal: postgres:\/\//m,
    );
    const again = migrate();
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^already copied: .* holds exactly the rows of state\/journal\.db .*nothing written/m);

    const status = spawnSync(process.execPath, [bin, 'status', '--config', 'dmc-pg.yaml', '--json'], { cwd: s.root, encoding: 'utf8', timeout: 30_000 });
    expect(status.status, status.stderr).toBe(0);
    const shown = JSON.parse(status.stdout) as { recent: { id: number; name: string; state: string }[] };
    expect(shown.recent.map((r) => [r.name, r.state]).sort()).toEqual([
      ['a.csv', 'done'],
      ['b.csv', 'done'],
    ]);

    // The daemon on PostgreSQL: the same export again is a duplicate; a new one is sent and numbered after the old.
    const daemon = new Daemon(await parseConfig(pgText, join(s.root, 'dmc-pg.yaml')), silentLogger);
    await daemon.start();
    try {
      writeFileSync(join(drop, 'a.csv'), exportOf('MG-A'));
      writeFileSync(join(drop, 'c.csv'), exportOf('MG-C'));
      await until('a refused, c sent', () => existsSync(join(drop, 'failed', 'a.csv.error.txt')) && existsSync(join(drop, 'sent', 'c.csv')));
      expect(readFileSync(join(drop, 'failed', 'a.csv.error.txt'), 'utf8')).toMatch(/same content as a\.csv \(input #\d+, done\).*not sent twice/);
      const rows = await daemon.journal.recentInputs(10);
      expect(rows.find((r) => r.name === 'c.csv')!.id).toBeGreaterThan(Math.max(...shown.recent.map((r) => r.id)));
      expect(broadcastsWith(join(s.root, 'sim'), 'MG-A')).toBe(1);
      // The migrated rows (no node, no epoch) and the daemon's own (under its lease) pass the checks, fencing included.
      const check = spawnSync(process.execPath, [bin, 'journal', 'check', '--config', 'dmc-pg.yaml'], { cwd: s.root, encoding: 'utf8', timeout: 60_000 });
      expect(check.status, check.stdout + check.stderr).toBe(0);
      expect(check.stdout).toMatch(/^ {2}ok {6}fencing$/m);
    } finally {
      await daemon.stop();
    }

    // The store has moved on (c.csv): the same migration again is refused, never merged.
    const refused = migrate();
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/^error: postgres:\/\/.* already holds other rows \(inputs 4, .*\): migrate into an empty store/m);
  }, 120_000);
});
