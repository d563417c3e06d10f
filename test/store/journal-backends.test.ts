/**
 * The journal's contract, run against both backends (issue #20): SQLite (the
 * embedded default) and PostgreSQL (the throwaway cluster of
 * scripts/pg-cluster.sh, DMC_TEST_PG_URL). Each case runs on a journal of its
 * own (a temporary file, or a fresh schema).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Journal, StaleTransitionError, type Transition } from '../../src/store/journal.js';
import { IllegalTransitionError } from '../../src/store/states.js';
import { contactCounts, StatusStore } from '../../src/store/statuses.js';
import { writePushReport, parsePushReport, type PushElement } from '../../src/formats/push.js';
import { freshSchema, pgUrl } from '../helpers/pg-env.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { pushElement } from '../helpers/push.js';
import pg from 'pg';
import { StoreUnavailableError } from '../../src/store/sql.js';

const PG = pgUrl(import.meta.url);
const BACKENDS = PG ? (['sqlite', 'postgresql'] as const) : (['sqlite'] as const);

const opened: { journal: Journal; cleanup: () => Promise<void> }[] = [];
afterEach(async () => {
  for (const o of opened.splice(0)) {
    await o.journal.close();
    await o.cleanup();
  }
});

/** A journal of its own on `backend`; `seen` records the transitions reported after commit. */
async function open(backend: (typeof BACKENDS)[number], seen?: Transition[]): Promise<Journal> {
  const opts = seen ? { onTransition: (t: Transition) => seen.push(t) } : {};
  if (backend === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'dmc-journal-'));
    const journal = await Journal.open(join(dir, 'journal.db'), 'daemon', opts);
    opened.push({ journal, cleanup: async () => rmSync(dir, { recursive: true, force: true }) });
    return journal;
  }
  const schema = freshSchema('journal');
  const journal = await Journal.open(PG!, 'daemon', { ...opts, schema });
  opened.push({
    journal,
    cleanup: async () => {
      const pg = await import('pg');
      const c = new pg.default.Client({ connectionString: PG });
      await c.connect();
      await c.query(`DROP SCHEMA ${schema} CASCADE`);
      await c.end();
    },
  });
  return journal;
}

const input = (j: Journal, name: string, hash = `h-${name}`) =>
  j.addInput({ folder: '/srv/drop', name, hash, size: 10, kind: 'export', workDir: '/srv/drop/work' });

const element = pushElement;
const push = (...els: PushElement[]) => parsePushReport(writePushReport('12345678', els));

describe.each(BACKENDS)('the journal on %s', (backend) => {
  it('records an input with its work path, moves it along the state table only, and says each transition after its commit', async () => {
    const seen: Transition[] = [];
    const j = await open(backend, seen);
    const row = await input(j, 'promo.csv');
    expect(row.work_path).toBe(`/srv/drop/work/${String(row.id).padStart(6, '0')}-promo.csv`);
    expect(row.state).toBe('seen');
    await j.setInput(row.id, 'working');
    await expect(j.setInput(row.id, 'sent')).rejects.toBeInstanceOf(IllegalTransitionError);
    await j.setInput(row.id, 'failed', 'no phone number');
    const after = (await j.input(row.id))!;
    expect([after.state, after.last_error, after.attempts]).toEqual(['failed', 'no phone number', 1]);
    expect(seen.map((t) => `${t.from}>${t.to}`)).toEqual(['new>seen', 'seen>working', 'working>failed']);
    expect(await j.findByHash('/srv/drop', 'h-promo.csv')).toBeUndefined();
  });

  it('a transaction is all or nothing, and reports its transitions only once committed', async () => {
    const seen: Transition[] = [];
    const j = await open(backend, seen);
    const row = await input(j, 'a.csv');
    seen.length = 0;
    await expect(
      j.tx(async () => {
        await j.setInput(row.id, 'working');
        await j.addTriggers(row.id, [{ localPath: '/w/a.1', remoteName: 'a_1.csv', contacts: 3, refs: ['R1'] }]);
        expect(seen).toEqual([]);
        throw new Error('cut');
      }),
    ).rejects.toThrow('cut');
    expect(seen).toEqual([]);
    expect((await j.input(row.id))!.state).toBe('seen');
    expect(await j.triggersOf(row.id)).toEqual([]);
    await j.tx(async () => {
      await j.setInput(row.id, 'working');
      await j.addTriggers(row.id, [{ localPath: '/w/a.1', remoteName: 'a_1.csv', contacts: 3, refs: ['R1'] }]);
    });
    expect(seen.map((t) => `${t.what} ${t.from}>${t.to}`)).toEqual(['input seen>working', 'input working>built']);
    expect((await j.triggersOf(row.id)).map((t) => [t.remote_name, t.state, t.contacts])).toEqual([['a_1.csv', 'built', 3]]);
  });

  it.runIf(backend === 'postgresql')(
    'a transition from a state the row left meanwhile changes nothing and is refused (another node committed first)',
    async () => {
      const j = await open(backend);
      const row = await input(j, 'b.csv');
      await j.setInput(row.id, 'working');
      // Another node moves the same row and holds its lock: this node reads `working`, then its conditional update waits,
      // and finds the row in another state once the other commits.
      const pg = await import('pg');
      const other = new pg.default.Client({ connectionString: PG });
      await other.connect();
      try {
        const schema = (await j.sql.get<{ s: string }>('SELECT current_schema() s'))!.s;
        await other.query(`SET search_path = ${schema}`);
        await other.query('BEGIN');
        await other.query("UPDATE inputs SET state = 'failed' WHERE id = $1", [row.id]);
        const mine = j.setInput(row.id, 'built');
        // Its update is waiting on the other's row lock (seen from the server), then the other commits.
        for (let i = 0; i < 200; i++) {
          const waiting = await other.query("SELECT 1 FROM pg_locks WHERE NOT granted AND locktype = 'transactionid'");
          if (waiting.rowCount) break;
          await new Promise((r) => setTimeout(r, 20));
        }
        await other.query('COMMIT');
        await expect(mine).rejects.toBeInstanceOf(StaleTransitionError);
      } finally {
        await other.end();
      }
      expect((await j.input(row.id))!.state).toBe('failed');
    },
  );

  it.runIf(backend === 'postgresql')('a database out of reach is said as such (StoreUnavailableError), never as an error of the input at hand', async () => {
    const target = new URL(PG!);
    const proxy = new FaultProxy({ host: target.hostname, port: Number(target.port) });
    await proxy.start();
    const via = new URL(PG!);
    via.port = String(proxy.port);
    const schema = freshSchema('unreachable');
    const j = await Journal.open(via.toString(), 'receiver', { schema });
    try {
      const row = await input(j, 'u.csv');
      proxy.refuseFor(5_000);
      await expect(j.input(row.id)).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(j.setInput(row.id, 'working')).rejects.toBeInstanceOf(StoreUnavailableError);
    } finally {
      await j.close();
      await proxy.close();
      const c = new pg.Client({ connectionString: PG });
      await c.connect();
      await c.query(`DROP SCHEMA ${schema} CASCADE`);
      await c.end();
    }
  });

  it('transactions of concurrent flows never mix: each commits whole, in some order', async () => {
    const j = await open(backend);
    const rows = await Promise.all(Array.from({ length: 8 }, (_, i) => input(j, `c${i}.csv`)));
    await Promise.all(
      rows.map((r, i) =>
        j
          .tx(async () => {
            await j.setInput(r.id, 'working');
            await new Promise((res) => setTimeout(res, i % 3));
            await j.addTriggers(r.id, [{ localPath: `/w/${i}`, remoteName: `c${i}_1.csv`, contacts: 1 }]);
            if (i % 4 === 3) throw new Error(`cut ${i}`);
          })
          .catch(() => undefined),
      ),
    );
    const states = await Promise.all(rows.map(async (r) => (await j.input(r.id))!.state));
    expect(states).toEqual(rows.map((_, i) => (i % 4 === 3 ? 'seen' : 'built')));
    expect((await j.summary()).triggers).toEqual({ built: 6 });
  });

  it('links broadcasts by reference, then by the one trigger holding an address; counts by state', async () => {
    const j = await open(backend);
    const a = await input(j, 'a.csv');
    const b = await input(j, 'b.csv');
    for (const r of [a, b]) await j.setInput(r.id, 'working');
    await j.addTriggers(a.id, [{ localPath: '/w/a', remoteName: 'a_1.csv', contacts: 2, refs: ['R1', '@33601020304'] }]);
    await j.addTriggers(b.id, [{ localPath: '/w/b', remoteName: 'b_1.csv', contacts: 1, refs: ['@33601020304'] }]);
    // An address two unlinked triggers hold links neither.
    expect(await j.linkBroadcasts([{ ref: '@33601020304', broadcastId: '900' }])).toEqual([]);
    const linked = await j.linkBroadcasts([{ ref: 'R1', broadcastId: '900' }]);
    expect(linked).toHaveLength(1);
    expect(await j.linkBroadcasts([{ ref: '@33601020304', broadcastId: '901' }])).toEqual([(await j.triggersOf(b.id))[0]!.id]);
    const links = await j.broadcastLinks(linked);
    expect(links).toEqual([{ broadcastId: '900', remoteName: 'a_1.csv', input: { id: a.id, name: 'a.csv', folder: '/srv/drop' } }]);
    expect(await j.countsBy('triggers', 'outcome')).toEqual({ none: 2 });
    expect((await j.summary()).inputs).toEqual({ built: 2 });
  });

  it('keeps hooks in an outbox until delivered; a resend request is taken once', async () => {
    const j = await open(backend);
    await j.enqueueHook('e1', 'k', '{}');
    await j.enqueueHook('e2', 'k', '{}');
    const due = await j.dueHooks(10);
    expect(due.map((h) => h.event_id)).toEqual(['e1', 'e2']);
    await j.setHook(due[0]!.id, 'delivered');
    await j.setHook(due[1]!.id, 'pending', { error: 'HTTP 500', nextAt: new Date(Date.now() + 60_000) });
    expect(await j.hookSummary()).toEqual({ delivered: 1, pending: 1 });
    expect(await j.dueHooks(10)).toEqual([]);
    expect(await j.nextHookDue()).toBeDefined();
    await j.askResend('/srv/drop', 'h1', 1);
    expect(await j.takeResend('/srv/drop', 'h1')).toBe(true);
    expect(await j.takeResend('/srv/drop', 'h1')).toBe(false);
    expect(await j.setFolderHealth('/srv/drop', false, 'EACCES')).toBe(true);
    expect(await j.setFolderHealth('/srv/drop', false, 'EACCES')).toBe(false);
    expect((await j.folders()).map((f) => [f.path, f.healthy, f.error])).toEqual([['/srv/drop', 0, 'EACCES']]);
  });

  it('push statuses: each history entry once, a later status never overwritten by an earlier one, contacts counted once', async () => {
    const j = await open(backend);
    const store = new StatusStore(j);
    const r = await input(j, 'p.csv');
    await j.setInput(r.id, 'working');
    await j.addTriggers(r.id, [{ localPath: '/w/p', remoteName: 'p_1.csv', contacts: 3, refs: ['R1', 'R2', 'R3'] }]);
    const received = element({
      status: 'RECEIVED',
      history: [
        { type: 'SENT', date: '2026-11-28 10:00:00', seq: 0 },
        { type: 'RECEIVED', date: '2026-11-28 10:00:05', seq: 1 },
      ],
    });
    const first = await store.recordPush([push(received, element({ contactId: '9001', refExterne: 'R2', to: '+33601020305' }))]);
    expect([first.recorded, first.duplicates, first.linked.length]).toEqual([3, 0, 1]);
    // The same post again (a redelivery), then an older status alone (out of order).
    const again = await store.recordPush([push(received)]);
    expect([again.recorded, again.duplicates]).toEqual([0, 2]);
    await store.recordPush([push(element({ history: [{ type: 'SENT', date: '2026-11-28 10:00:00', seq: 0 }] }))]);
    expect(await j.sql.get('SELECT status, final FROM contact_results WHERE contact_id = ?', '9000')).toEqual({ status: 'RECEIVED', final: 'delivered' });
    expect(await contactCounts(j.sql)).toEqual({ delivered: 1, failed: 0, pending: 2 });
    expect(await contactCounts(j.sql, '500')).toEqual({ delivered: 1, failed: 0, pending: 2 });
    expect(await store.due()).toEqual([r.id]);
    expect(await store.broadcastsOf(r.id)).toEqual(['500']);
    const lookup = await store.lookup(['500']);
    expect(lookup.hasRefs).toBe(true);
    expect(lookup.byRef('R1').map((x) => x.final)).toEqual(['delivered']);
    expect(lookup.byAddress('33601020305').map((x) => x.status)).toEqual(['SENT']);
    await store.setResultsFile(r.id, '/srv/drop/results/p.csv.results.csv', { byStatus: { delivered: 1 } }, false);
    expect(await store.resultsFile(r.id)).toEqual({ path: '/srv/drop/results/p.csv.results.csv', summary: { byStatus: { delivered: 1 } }, final: false });
    expect(await j.pushStatusCount()).toBe(3);
  });

  it('a report line that names no medium takes the medium of the push after it: one row per contact and medium', async () => {
    const j = await open(backend);
    const store = new StatusStore(j);
    const line = { line: 2, broadcastId: '500', externalReference: 'R1', name: 'N', forename: 'F', callDate: '2026/11/28 10:00:00', callAttempts: '1' };
    // "Numéro erroné" fits SMS, MMS and voice: recorded without a medium.
    await store.recordReport([{ ...line, contactId: '9000', callResult: 'Numéro erroné', callAdress: '+33601020304' }]);
    expect(await j.sql.all('SELECT contact_id, medium FROM contact_results')).toEqual([{ contact_id: '9000', medium: '' }]);
    const r = await store.recordPush([push(element(), element({ contactId: '9001', to: '+33601020305', refExterne: 'R2' }))]);
    expect([r.recorded, r.duplicates]).toEqual([2, 0]);
    expect(await j.sql.all('SELECT contact_id, medium, source FROM contact_results ORDER BY contact_id')).toEqual([
      { contact_id: '9000', medium: 'sms', source: 'report' },
      { contact_id: '9001', medium: 'sms', source: 'push' },
    ]);
  });

  it("a post's statuses for a linked broadcast take two statements on PostgreSQL (a round trip each), four on SQLite", async () => {
    const j = await open(backend);
    const store = new StatusStore(j);
    const r = await input(j, 'p.csv');
    await j.setInput(r.id, 'working');
    const contacts = Array.from({ length: 10 }, (_, k) =>
      element({ contactId: String(9000 + k), to: `+336010203${String(k).padStart(2, '0')}`, refExterne: `R${k}` }),
    );
    await j.addTriggers(r.id, [{ localPath: '/w/p', remoteName: 'p_1.csv', contacts: 10, refs: contacts.flatMap((c) => [c.refExterne, `@${c.to.slice(1)}`]) }]);
    expect((await store.recordPush([push(contacts[0]!)])).linked).toHaveLength(1);
    const sent: string[] = [];
    for (const m of ['all', 'get', 'run'] as const) {
      const f = j.sql[m].bind(j.sql) as (q: string, ...p: unknown[]) => Promise<unknown>;
      (j.sql as unknown as Record<string, unknown>)[m] = (q: string, ...p: unknown[]) => {
        sent.push(q.replace(/\s+/g, ' ').slice(0, 40));
        return f(q, ...p);
      };
    }
    const later = contacts.map((c) => ({ ...c, history: [...c.history, { type: 'RECEIVED', date: '2026-11-28 10:00:05', seq: 1 }] }));
    // Contact 0's SENT is known already: 19 entries new.
    expect((await store.recordPush([push(...later)])).recorded).toBe(19);
    expect(sent).toHaveLength(backend === 'postgresql' ? 2 : 4);
    expect(await contactCounts(j.sql)).toEqual({ delivered: 10, failed: 0, pending: 0 });
    expect(await store.due()).toEqual([r.id]);
  });

  it('a broadcast comes from one trigger: once linked, its lines link no other; a link rolled back is looked for again', async () => {
    const j = await open(backend);
    const a = await input(j, 'a.csv');
    const b = await input(j, 'b.csv');
    for (const r of [a, b]) await j.setInput(r.id, 'working');
    await j.addTriggers(a.id, [{ localPath: '/w/a', remoteName: 'a_1.csv', contacts: 1, refs: ['R1'] }]);
    await j.addTriggers(b.id, [{ localPath: '/w/b', remoteName: 'b_1.csv', contacts: 1, refs: ['R1', 'R2'] }]);
    const [ta] = await j.triggersOf(a.id);
    const [tb] = await j.triggersOf(b.id);
    // Linked in a transaction that fails: not linked, and not taken for linked afterwards.
    await expect(
      j.tx(async () => {
        expect(await j.linkBroadcasts([{ ref: 'R2', broadcastId: '900' }])).toEqual([tb!.id]);
        throw new Error('cut');
      }),
    ).rejects.toThrow('cut');
    expect((await j.trigger(tb!.id))!.broadcast_id).toBeNull();
    expect(await j.linkBroadcasts([{ ref: 'R2', broadcastId: '900' }])).toEqual([tb!.id]);
    // 900 is b's now: a line of 900 naming R1 (which a holds too, unlinked) does not give 900 to a as well.
    expect(await j.linkBroadcasts([{ ref: 'R1', broadcastId: '900' }])).toEqual([]);
    expect((await j.trigger(ta!.id))!.broadcast_id).toBeNull();
    expect(await j.linkBroadcasts([{ ref: 'R1', broadcastId: '901' }])).toEqual([ta!.id]);
  });
});
