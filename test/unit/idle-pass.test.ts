/**
 * An idle pass reads what it needs and nothing more (issue #20: on
 * PostgreSQL each read is a round trip, so a pass that read every step's
 * rows cost 4 ms doing nothing). Counted, not timed: the statements an idle
 * pass sends to the journal, over settled history and with one live input.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import { Daemon } from '../../src/daemon/daemon.js';
import type { Sql } from '../../src/store/sql.js';
import { silentLogger } from '../../src/transport/logger.js';

const root = mkdtempSync(join(tmpdir(), 'dmc-idle-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Driven {
  open(): Promise<void>;
  pass(): Promise<boolean>;
  schedule: { due: () => boolean };
  journal: { sql: Sql; close(): Promise<void> };
}

describe('an idle pass', () => {
  it('sends two reads to the journal over settled history, whatever its size', async () => {
    mkdirSync(join(root, 'drop'), { recursive: true });
    writeFileSync(join(root, 'cmd.yaml'), 'serviceId: "12345678"\n');
    // A transport that is never used: nothing is in flight, and report collection is off.
    const yaml = `service: {serviceId: "12345678"}\ntransport: {protocol: sftp, host: 127.0.0.1, port: 9, username: x, password: x, hostKey: "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}\ndaemon:\n  journal: ${join(root, 'journal.db')}\n  dropFolders:\n    - {path: ${join(root, 'drop')}, command: ${join(root, 'cmd.yaml')}}\n`;
    const daemon = new Daemon(await parseConfig(yaml, join(root, 'dmc.yaml')), silentLogger) as unknown as Driven;
    daemon.schedule.due = () => false;
    await daemon.open();
    const sql = daemon.journal.sql;
    for (let i = 0; i < 500; i++)
      await sql.run(
        "INSERT INTO inputs (folder, name, hash, size, state, kind, work_path, created_at, updated_at, settled) VALUES (?, ?, ?, 1, 'done', 'export', '', 'x', 'x', 1)",
        join(root, 'drop'),
        `e${i}.csv`,
        `h${i}`,
      );
    const sent: string[] = [];
    for (const m of ['all', 'get', 'run'] as const) {
      const f = sql[m].bind(sql) as (q: string, ...p: unknown[]) => Promise<unknown>;
      (sql as unknown as Record<string, unknown>)[m] = (q: string, ...p: unknown[]) => {
        sent.push(q.replace(/\s+/g, ' ').slice(0, 60));
        return f(q, ...p);
      };
    }
    await daemon.pass(); // the first looks for inputs past finalAfterDays too (once a minute)
    sent.length = 0;
    expect(await daemon.pass()).toBe(false);
    expect(sent).toEqual(['SELECT DISTINCT state FROM inputs WHERE settled = 0', expect.stringMatching(/^SELECT input_id FROM results_due/)]);
    await daemon.journal.close();
  });
});
