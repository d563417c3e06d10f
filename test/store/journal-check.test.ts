/**
 * `journal check` (issue #20): each invariant, on both backends, found
 * broken when it is broken and only then. The journal is made by the
 * journal's own calls (as the daemon makes it), then damaged the way an
 * edit, a partial restore or a lost file would.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { checkJournal, type CheckReport } from '../../src/store/check.js';
import { Journal } from '../../src/store/journal.js';
import { freshSchema, pgUrl } from '../helpers/pg-env.js';

const PG = pgUrl(import.meta.url);
const BACKENDS = PG ? (['sqlite', 'postgresql'] as const) : (['sqlite'] as const);
const ACCOUNT = '12345678';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * A journal as a daemon leaves it: one export sent and settled, one built
 * with its trigger file in work/, a hook delivered. On PostgreSQL its rows
 * are written under node-a's lease.
 */
async function made(backend: (typeof BACKENDS)[number]): Promise<{ j: Journal; drop: string; live: number; trigger: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'dmc-check-'));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  const drop = join(dir, 'drop');
  mkdirSync(join(drop, 'work'), { recursive: true });
  let j: Journal;
  if (backend === 'sqlite') j = await Journal.open(join(dir, 'journal.db'), 'daemon');
  else {
    const schema = freshSchema('check');
    j = await Journal.open(PG!, 'daemon', { schema });
    cleanups.push(async () => {
      const c = new pg.Client({ connectionString: PG });
      await c.connect();
      await c.query(`DROP SCHEMA ${schema} CASCADE`);
      await c.end();
    });
    const lease = await j.leases()!.acquire(ACCOUNT, 'node-a', undefined, 60_000);
    j.writeUnder('node-a', () => ({ account: ACCOUNT, holder: 'node-a', epoch: lease.epoch }));
  }
  cleanups.push(() => j.close());
  const add = (name: string) => j.addInput({ folder: drop, name, hash: `h-${name}`, size: 10, kind: 'export', workDir: join(drop, 'work') });

  const old = await add('old.csv');
  await j.setInput(old.id, 'working');
  await j.setInput(old.id, 'built');
  await j.addTriggers(old.id, [{ localPath: join(drop, 'work', 'old.trigger.csv'), remoteName: 'old.csv', contacts: 1 }]);
  const t0 = (await j.triggersOf(old.id))[0]!;
  for (const s of ['uploading', 'renaming', 'uploaded', 'processed'] as const) await j.setTrigger(t0.id, s);
  await j.setInput(old.id, 'sent');
  await j.setInput(old.id, 'done');
  await j.settle(old.id);

  const live = await add('live.csv');
  writeFileSync(live.work_path, 'Nom;Mobile\nDupont;0612345678\n');
  await j.setInput(live.id, 'working');
  await j.setInput(live.id, 'built');
  const local = join(drop, 'work', 'live.trigger.csv');
  writeFileSync(local, '#COMMAND\n');
  await j.addTriggers(live.id, [{ localPath: local, remoteName: 'live.csv', contacts: 1 }]);
  const t1 = (await j.triggersOf(live.id))[0]!;

  await j.enqueueHook('ev-1', 'hook-a', JSON.stringify({ id: 'ev-1', event: 'sent' }));
  return { j, drop, live: live.id, trigger: t1.id };
}

const errorsOf = (r: CheckReport) => Object.fromEntries(r.checks.filter((c) => c.errors).map((c) => [c.name, c.errors]));

describe.each(BACKENDS)('journal check on %s', (backend) => {
  it('finds nothing wrong in a journal the daemon made; fencing runs on PostgreSQL only', async () => {
    const { j } = await made(backend);
    const r = await checkJournal(j, { account: ACCOUNT });
    expect(r.findings).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.checks.map((c) => c.name)).toEqual(['states', 'references', 'remote-names', 'live-inputs', 'files', 'outbox', 'fencing']);
    expect(r.checks.find((c) => c.name === 'fencing')!.ran).toBe(backend === 'postgresql');
  });

  it('an unknown state, a dangling reference, a built input without triggers', async () => {
    const { j, drop, live } = await made(backend);
    await j.sql.run("UPDATE inputs SET state = 'sending' WHERE name = 'old.csv'");
    // Foreign keys guard triggers, references and rejected rows; nothing guards these two.
    await j.sql.run("UPDATE inputs SET duplicate_of = 9999 WHERE name = 'old.csv'");
    const lonely = await j.addInput({ folder: drop, name: 'lonely.csv', hash: 'h-l', size: 1, kind: 'export', workDir: join(drop, 'work') });
    writeFileSync(lonely.work_path, 'x');
    await j.setInput(lonely.id, 'working');
    await j.setInput(lonely.id, 'built');
    const r = await checkJournal(j, { account: ACCOUNT });
    expect(errorsOf(r)).toEqual({ states: 1, references: 1, 'live-inputs': 1 });
    expect(r.ok).toBe(false);
    const say = r.findings.map((f) => `${f.check}: ${f.items.join(' | ')}`).join('\n');
    expect(say).toMatch(/^states: input #\d+ \(old\.csv\): state sending, kind export$/m);
    expect(say).toMatch(/^references: input #\d+ \(old\.csv\): duplicate of input #9999$/m);
    expect(say).toMatch(new RegExp(`^live-inputs: input #${lonely.id} \\(lonely\\.csv\\): built, no trigger$`, 'm'));
    // A group member whose leader carries its contacts is not at fault.
    await j.sql.run('UPDATE inputs SET group_leader = ? WHERE id = ?', live, lonely.id);
    expect(errorsOf(await checkJournal(j, { account: ACCOUNT }))).toEqual({ states: 1, references: 1 });
  });

  it('no live input without its file, no trigger to upload without its local file', async () => {
    const { j, live, trigger } = await made(backend);
    const row = (await j.input(live))!;
    rmSync(row.work_path);
    const t = (await j.triggersOf(live))[0]!;
    rmSync(t.local_path);
    const r = await checkJournal(j, { account: ACCOUNT });
    expect(errorsOf(r)).toEqual({ files: 2 });
    expect(r.findings.flatMap((f) => f.items)).toEqual([
      `input #${live} (live.csv): built, not at ${row.work_path}`,
      `trigger #${trigger} (live.csv): built, not at ${t.local_path}`,
    ]);
    // Once uploaded, the trigger's local file is no longer needed; a settled input is not looked for.
    for (const s of ['uploading', 'renaming', 'uploaded'] as const) await j.setTrigger(trigger, s);
    await j.setInput(live, 'sent');
    expect(errorsOf(await checkJournal(j, { account: ACCOUNT }))).toEqual({ files: 1 });
    await j.setInput(live, 'done');
    await j.settle(live);
    expect((await checkJournal(j, { account: ACCOUNT })).ok).toBe(true);
  });

  it('the hook outbox: a payload that is not its event, an event queued twice, a delivery given up (a warning)', async () => {
    const { j } = await made(backend);
    await j.enqueueHook('ev-2', 'hook-a', JSON.stringify({ id: 'ev-3' }));
    await j.enqueueHook('ev-1', 'hook-a', JSON.stringify({ id: 'ev-1', event: 'sent' }));
    await j.enqueueHook('ev-1', 'hook-b', JSON.stringify({ id: 'ev-1', event: 'sent' }));
    const dead = (await j.dueHooks(10)).find((h) => h.hook === 'hook-b')!;
    await j.setHook(dead.id, 'dead', { error: 'HTTP 500' });
    const r = await checkJournal(j, { account: ACCOUNT });
    expect(errorsOf(r)).toEqual({ outbox: 2 });
    expect(r.checks.find((c) => c.name === 'outbox')!.warnings).toBe(1);
    expect(r.findings.map((f) => [f.severity, f.items])).toEqual([
      ['error', [expect.stringMatching(/^hook delivery #\d+: its payload is not event ev-2$/)]],
      ['error', [expect.stringMatching(/^event ev-1: deliveries #\d+ and #\d+ to the same hook$/)]],
      ['warning', [`hook delivery #${dead.id}: event ev-1`]],
    ]);
  });
});

describe.skipIf(!PG)('journal check on postgresql: remote names and fencing', () => {
  it('two live triggers under one remote name (the unique index lost in a restore)', async () => {
    const { j, live } = await made('postgresql');
    await j.sql.run('ALTER TABLE triggers DROP CONSTRAINT triggers_remote_name_key');
    await j.sql.run(
      "INSERT INTO triggers (input_id, part, local_path, remote_name, contacts, state, updated_at) VALUES (?, 2, ?, 'live.csv', 1, 'built', 'now')",
      live,
      (await j.triggersOf(live))[0]!.local_path,
    );
    const r = await checkJournal(j, { account: ACCOUNT });
    expect(errorsOf(r)).toEqual({ 'remote-names': 1 });
    expect(r.findings[0]!.items).toEqual([expect.stringMatching(/^live\.csv: triggers #\d+, \d+$/)]);
  });

  it('a row made by a node that did not hold the lease at its epoch, or at an epoch newer than the lease', async () => {
    const { j, live } = await made('postgresql');
    await j.sql.run("UPDATE inputs SET node = 'node-b' WHERE id = ?", live);
    await j.sql.run("UPDATE triggers SET epoch = epoch + 5 WHERE remote_name = 'old.csv'");
    const r = await checkJournal(j, { account: ACCOUNT });
    expect(errorsOf(r)).toEqual({ fencing: 2 });
    expect(r.findings[0]!.items).toEqual(['1 row(s) by node-b at epoch 1, which node-a held', "1 row(s) by node-a at epoch 6, newer than the lease's 1"]);
  });
});
