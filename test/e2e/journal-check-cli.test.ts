/**
 * `dmc-trigger journal check` as an operator runs it (issue #20): beside a
 * running daemon on the simulator, as docs/cli.md shows it, then on a
 * journal damaged while the daemon is stopped. Its `--json` has the shape
 * docs/cli.md documents.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { smsCommand, startSimDaemon, type SimDaemon } from '../helpers/sim-daemon.js';

const repo = new URL('../../', import.meta.url).pathname;
const bin = join(repo, 'dist/cli/main.js');

const until = async (what: string, cond: () => boolean, ms = 30_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe('journal check (CLI)', () => {
  let s: SimDaemon | undefined;
  afterAll(async () => {
    await s?.stop();
  });

  it('says consistent beside a running daemon, and names the rows at fault once the journal is damaged (exit 1)', async () => {
    s = await startSimDaemon({ seed: 'jcheck', commands: { 'cmd.yaml': smsCommand('Check {file}') }, folders: ['{path: drop, command: cmd.yaml}'] });
    const check = (...args: string[]) =>
      spawnSync(process.execPath, [bin, 'journal', 'check', '--config', s!.configPath, ...args], { cwd: s!.root, encoding: 'utf8', timeout: 60_000 });
    writeFileSync(join(s.root, 'drop', 'a.csv'), 'Nom;Mobile;Référence\nDupont;0612345678;JC-A\n');
    await until('the export sent', () => existsSync(join(s!.root, 'drop', 'sent', 'a.csv')));

    const ok = check();
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^journal check: .*journal\.db \(account 12345678\)$/m);
    expect(ok.stdout).toMatch(/^ {2}ok {6}files$/m);
    expect(ok.stdout).toMatch(/^ {2}skipped fencing \(PostgreSQL only\)$/m);
    expect(ok.stdout.trimEnd().split('\n').pop()).toBe('journal consistent');

    await s.daemon.stop();
    const db = new Database(join(s.root, 'state', 'journal.db'));
    db.prepare("UPDATE inputs SET state = 'sending' WHERE name = 'a.csv'").run();
    db.close();
    const bad = check();
    expect(bad.status, bad.stdout).toBe(1);
    expect(bad.stdout).toMatch(/^ {2}ERROR {3}states$/m);
    expect(bad.stdout).toMatch(/^ {14}input #1 \(a\.csv\): state sending, kind export$/m);
    expect(bad.stdout.trimEnd().split('\n').pop()).toBe('1 row(s) break an invariant (above); the daemon may stall or misreport on them');

    // The JSON shape is the one docs/cli.md shows.
    const json = check('--json');
    expect(json.status).toBe(1);
    const doc = JSON.parse(/<!-- journal-check-json -->\s*```json\n([\s\S]*?)```/.exec(readFileSync(join(repo, 'docs/cli.md'), 'utf8'))![1]!) as {
      checks: object[];
      findings: object[];
    };
    const actual = JSON.parse(json.stdout) as { checks: object[]; findings: object[]; ok: boolean };
    expect(Object.keys(actual).sort()).toEqual(Object.keys(doc).sort());
    expect(Object.keys(actual.checks[0]!).sort()).toEqual(Object.keys(doc.checks[0]!).sort());
    expect(Object.keys(actual.findings[0]!).sort()).toEqual(Object.keys(doc.findings[0]!).sort());
    expect(actual.ok).toBe(false);
  });

  it('refuses a configuration whose journal does not exist yet (exit 2, one line)', () => {
    const other = join(s!.root, 'other.yaml');
    writeFileSync(other, readFileSync(s!.configPath, 'utf8').replace('state/journal.db', 'state/none.db'));
    const none = spawnSync(process.execPath, [bin, 'journal', 'check', '--config', other], { cwd: s!.root, encoding: 'utf8', timeout: 60_000 });
    expect(none.status).toBe(2);
    expect(none.stderr.trim()).toMatch(/^error: no journal at .*none\.db: the daemon has not run with .*other\.yaml yet; nothing to check$/);
  });
});
