/**
 * Contact statuses in the journal, from both sources: the CRA push (every
 * history entry, deduplicated) and the daily reports (one final line per
 * contact). Each contact of a broadcast keeps its latest status per medium
 * (`contact_results`): a status older than the one recorded never replaces
 * it (date, then the guide's chain, then the position in the history).
 *
 * Broadcasts are linked to the triggers that caused them by the external
 * reference (Journal.linkBroadcasts), and the inputs whose results changed
 * are marked due for their results file (`results_due`).
 */
import type Database from 'better-sqlite3';
import { codesForRecord, SUCCESS_CODES, type CraRecord } from '../formats/cra.js';
import { finalOf, latestOf, sortKey, type PushMedium, type PushReport } from '../formats/push.js';
import type { Journal } from './journal.js';
import { SqliteSql, type Sql } from './sql.js';
import { addressKey } from '../formats/address.js';

export type FinalStatus = 'delivered' | 'failed' | 'pending';

/**
 * Contacts by final status, as the results file counts them: a contact is
 * delivered when any of its media delivered, pending while any is pending,
 * failed otherwise, and pending while it has no status at all (including
 * contacts no status named yet). One broadcast, or every broadcast linked to
 * a trigger. The console's pages and `/metrics` count with this one function.
 */
export async function contactCounts(sql: Sql, broadcastId?: string): Promise<Record<FinalStatus, number>> {
  const which = broadcastId === undefined ? 'broadcast_id IN (SELECT broadcast_id FROM triggers WHERE broadcast_id IS NOT NULL)' : 'broadcast_id = ?';
  const args = broadcastId === undefined ? [] : [broadcastId];
  const r = await sql.get<{ delivered: number | null; failed: number | null }>(
    `SELECT SUM(d) delivered, SUM(CASE WHEN d = 0 AND p = 0 AND f > 0 THEN 1 ELSE 0 END) failed FROM (
       SELECT MAX(CASE WHEN final = 'delivered' THEN 1 ELSE 0 END) d, MAX(CASE WHEN final = 'pending' THEN 1 ELSE 0 END) p,
              MAX(CASE WHEN final = 'failed' THEN 1 ELSE 0 END) f
       FROM contact_results WHERE ${which} GROUP BY broadcast_id, contact_id) x`,
    ...args,
  );
  const contacts = await sql.get<{ n: number }>(
    `SELECT COALESCE(SUM(contacts), 0) n FROM triggers WHERE ${broadcastId === undefined ? 'broadcast_id IS NOT NULL' : 'broadcast_id = ?'}`,
    ...args,
  );
  const delivered = Number(r?.delivered ?? 0);
  const failed = Number(r?.failed ?? 0);
  return { delivered, failed, pending: Math.max(0, Number(contacts?.n ?? 0) - delivered - failed) };
}

/** A contact's latest status on one medium, as `contact_results` holds it. */
export interface ContactResultRow {
  broadcast_id: string;
  contact_id: string;
  medium: string;
  address: string;
  ref: string;
  status: string;
  final: FinalStatus;
  code: string | null;
  label: string | null;
  date: string;
  sort: string;
  source: 'push' | 'report';
  updated_at: string;
  address_key: string;
}

/** A contact's result as a results file joins it to an export row. */
export type JoinResult = Omit<ContactResultRow, 'contact_id' | 'updated_at' | 'address_key'>;

/** Results looked up per export row (StatusStore.lookup). */
export interface ResultLookup {
  /** Whether any result of the broadcasts carries an external reference. */
  readonly hasRefs: boolean;
  byRef(ref: string): JoinResult[];
  /** By normalized address (addressKey). */
  byAddress(key: string): JoinResult[];
}

function joinResult(r: unknown[]): JoinResult {
  return {
    broadcast_id: r[0] as string,
    medium: r[1] as string,
    address: r[2] as string,
    ref: r[3] as string,
    status: r[4] as string,
    final: r[5] as FinalStatus,
    code: r[6] as string | null,
    label: r[7] as string | null,
    date: r[8] as string,
    sort: r[9] as string,
    source: r[10] as 'push' | 'report',
  };
}

/** What one batch of push reports did to the journal. */
export interface RecordedPush {
  /** History entries new to the journal. */
  readonly recorded: number;
  /** History entries the journal already held (a redelivery). */
  readonly duplicates: number;
  readonly broadcasts: readonly string[];
  /** Triggers linked to their broadcast by this batch. */
  readonly linked: readonly number[];
}

/** Annex 5.4 media (cra-codes) as push media. */
const MEDIUM_OF_CODE: Readonly<Record<string, PushMedium>> = { sms: 'sms', mms: 'mms', voice: 'call', fax: 'fax', email: 'mail', push: 'notif' };

const now = (): string => new Date().toISOString();

const RESULT_COLUMNS = 'broadcast_id, contact_id, medium, address, ref, status, final, code, label, date, sort, source, updated_at, address_key';
const RESULT_VALUES = '?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?';

/** A contact's result row in RESULT_COLUMNS order. */
const resultValues = (r: ContactResultRow): unknown[] => [
  r.broadcast_id,
  r.contact_id,
  r.medium,
  r.address,
  r.ref,
  r.status,
  r.final,
  r.code,
  r.label,
  r.date,
  r.sort,
  r.source,
  r.updated_at,
  r.address_key,
];

/** `rows` contacts' latest statuses: each replaces the one recorded only when it is later (or makes a vague report line precise). */
const UPSERT_RESULTS = (rows: number): string =>
  `INSERT INTO contact_results (${RESULT_COLUMNS}) VALUES ${Array.from({ length: rows }, () => `(${RESULT_VALUES})`).join(', ')}
   ON CONFLICT (broadcast_id, contact_id, medium) DO UPDATE SET
     address = excluded.address, address_key = excluded.address_key, ref = excluded.ref, status = excluded.status, final = excluded.final, code = excluded.code,
     label = excluded.label, date = excluded.date, sort = excluded.sort, source = excluded.source, updated_at = excluded.updated_at
   WHERE excluded.sort > contact_results.sort
      OR (contact_results.source = 'report' AND excluded.final != 'pending' AND (contact_results.code IS NULL OR contact_results.code LIKE '%|%'))`;

/** The inputs whose results file the statuses of `broadcasts` broadcasts change: due to be written again. */
const MARK_DUE = (broadcasts: number): string =>
  `INSERT INTO results_due (input_id)
   SELECT DISTINCT i.id FROM inputs i JOIN triggers t ON t.input_id = CASE WHEN i.group_leader > 0 THEN i.group_leader ELSE i.id END
   WHERE t.broadcast_id IN (${Array.from({ length: broadcasts }, () => '?').join(', ')}) ON CONFLICT DO NOTHING`;

/** History entries (15 values each) per statement: under SQLite's and PostgreSQL's limits on parameters. */
const ENTRY_BATCH = 500;
/** Contact results (14 values each) per statement. */
const RESULT_BATCH = 500;

export class StatusStore {
  private readonly sql: Sql;

  constructor(private readonly journal: Journal) {
    this.sql = journal.sql;
  }

  /** A contact's latest status replaces the one recorded only when it is later (or a vague report line is made precise). */
  private async upsertResult(...rows: ContactResultRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.sql.run(UPSERT_RESULTS(rows.length), ...rows.flatMap(resultValues));
  }

  /** A report line whose label names no single code (CRA_SMS_BADNUMBER|CRA_MMS_BADNUMBER|...) only fills in a contact with no final status yet. */
  private async upsertVague(...rows: ContactResultRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.sql.run(
      `INSERT INTO contact_results (${RESULT_COLUMNS}) VALUES ${rows.map(() => `(${RESULT_VALUES})`).join(', ')}
       ON CONFLICT (broadcast_id, contact_id, medium) DO UPDATE SET
         status = excluded.status, final = excluded.final, code = excluded.code,
         label = excluded.label, date = excluded.date, sort = excluded.sort, source = excluded.source, updated_at = excluded.updated_at
       WHERE contact_results.final = 'pending'`,
      ...rows.flatMap(resultValues),
    );
  }

  /**
   * Records push reports: each history entry once, each contact's latest
   * status, the broadcasts linked to their triggers, the inputs marked due,
   * in one transaction (the receiver's group commit).
   */
  async recordPush(reports: readonly PushReport[]): Promise<RecordedPush> {
    return await this.journal.tx(async () => {
      let recorded = 0;
      const broadcasts = new Set<string>();
      const refs: { ref: string; broadcastId: string }[] = [];
      const at = now();
      // Every history entry, in statements of many rows (a round trip each on PostgreSQL): each recorded once.
      const entries: unknown[][] = [];
      for (const report of reports)
        for (const e of report.elements)
          for (const h of e.history) {
            const detail = { ...(h.detail ?? {}), ...(e.voice ?? {}) };
            entries.push([
              e.medium,
              e.broadcastId,
              e.contactId,
              e.callId,
              h.type,
              h.date,
              h.seq,
              e.to,
              e.refExterne,
              e.spaceId,
              report.username,
              h.code ?? null,
              h.info ?? null,
              Object.keys(detail).length ? JSON.stringify(detail) : null,
              at,
            ]);
          }
      const insertEntries = (n: number): string =>
        `INSERT INTO push_statuses (medium, broadcast_id, contact_id, call_id, type, date, seq, address, ref, space_id, username, code, info, detail, received_at)
         VALUES ${Array.from({ length: n }, () => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')} ON CONFLICT DO NOTHING`;
      // Contacts a report row without a medium holds (rare): asked once, then fixed one by one below.
      const allBroadcasts = [...new Set(reports.flatMap((r) => r.elements.map((e) => e.broadcastId)))];
      const mediumless = (n: number): string =>
        `SELECT DISTINCT broadcast_id b, contact_id c FROM contact_results WHERE medium = '' AND broadcast_id IN (${Array.from({ length: n }, () => '?').join(', ')})`;
      const withoutMedium = new Set<string>();
      // A commit of a few posts on PostgreSQL: both in one statement, a round trip fewer (SQLite has no INSERT in a
      // WITH, and no round trips to save).
      const together = this.sql.dialect === 'pg' && entries.length > 0 && entries.length <= ENTRY_BATCH && allBroadcasts.length <= ENTRY_BATCH;
      if (together) {
        const rows = await this.sql.all<{ n: number | null; b: string | null; c: string | null }>(
          `WITH added AS (${insertEntries(entries.length)} RETURNING 1)
           SELECT (SELECT COUNT(*) FROM added)::int n, NULL b, NULL c
           UNION ALL SELECT NULL::int, m.b, m.c FROM (${mediumless(allBroadcasts.length)}) m`,
          ...entries.flat(),
          ...allBroadcasts,
        );
        for (const r of rows) {
          if (r.n !== null) recorded = Number(r.n);
          else withoutMedium.add(`${r.b}\u0000${r.c}`);
        }
      } else {
        for (let i = 0; i < entries.length; i += ENTRY_BATCH) {
          const chunk = entries.slice(i, i + ENTRY_BATCH);
          recorded += await this.sql.run(insertEntries(chunk.length), ...chunk.flat());
        }
        for (let i = 0; i < allBroadcasts.length; i += ENTRY_BATCH) {
          const chunk = allBroadcasts.slice(i, i + ENTRY_BATCH);
          for (const r of await this.sql.all<{ b: string; c: string }>(mediumless(chunk.length), ...chunk)) withoutMedium.add(`${r.b}\u0000${r.c}`);
        }
      }
      const duplicates = entries.length - recorded;
      const results: ContactResultRow[] = [];
      for (const report of reports) {
        for (const e of report.elements) {
          broadcasts.add(e.broadcastId);
          if (e.refExterne) refs.push({ ref: e.refExterne, broadcastId: e.broadcastId });
          const address = addressKey(e.to, '');
          if (address) refs.push({ ref: `@${address}`, broadcastId: e.broadcastId });
          const last = latestOf(e.history);
          if (withoutMedium.has(`${e.broadcastId}\u0000${e.contactId}`)) {
            // A report's row without a medium takes the medium of the push that comes after it: one row per contact and medium.
            await this.sql.run(
              `UPDATE contact_results SET medium = ? WHERE broadcast_id = ? AND contact_id = ? AND medium = ''
                 AND NOT EXISTS (SELECT 1 FROM contact_results c WHERE c.broadcast_id = ? AND c.contact_id = ? AND c.medium = ?)`,
              e.medium,
              e.broadcastId,
              e.contactId,
              e.broadcastId,
              e.contactId,
              e.medium,
            );
            await this.sql.run("DELETE FROM contact_results WHERE broadcast_id = ? AND contact_id = ? AND medium = ''", e.broadcastId, e.contactId);
          }
          results.push({
            broadcast_id: e.broadcastId,
            contact_id: e.contactId,
            medium: e.medium,
            address: e.to,
            address_key: addressKey(e.to, ''),
            ref: e.refExterne,
            status: last.type,
            final: finalOf(e.medium, last.type),
            code: last.code ?? null,
            label: last.info ?? null,
            date: last.date,
            sort: sortKey(last),
            source: 'push',
            updated_at: at,
          });
        }
      }
      // Each contact's latest status: many rows per statement when no contact comes twice in this commit (each row
      // then meets only the stored one); otherwise one by one, in order, each meeting the one before it.
      const keys = new Set(results.map((r) => `${r.broadcast_id}\u0000${r.contact_id}\u0000${r.medium}`));
      const linked = await this.journal.linkBroadcasts(refs);
      if (together && keys.size === results.length && results.length <= RESULT_BATCH) {
        // The same commit on PostgreSQL: the latest statuses and the inputs due in one statement (after the links,
        // through which the inputs due are found).
        await this.sql.run(`WITH latest AS (${UPSERT_RESULTS(results.length)}) ${MARK_DUE(broadcasts.size)}`, ...results.flatMap(resultValues), ...broadcasts);
      } else {
        if (keys.size === results.length) for (let i = 0; i < results.length; i += RESULT_BATCH) await this.upsertResult(...results.slice(i, i + RESULT_BATCH));
        else for (const r of results) await this.upsertResult(r);
        await this.markDue([...broadcasts]);
      }
      return { recorded, duplicates, broadcasts: [...broadcasts], linked };
    });
  }

  /**
   * Records the lines of a daily report: each is a contact's final result
   * (annex 5.4 label mapped back to its code when the annex makes it
   * unambiguous), in the caller's transaction if there is one.
   */
  async recordReport(lines: Iterable<CraRecord>): Promise<string[]> {
    return await this.journal.tx(async () => {
      const broadcasts = new Set<string>();
      const at = now();
      // In batches of distinct contacts: one query for the media the push gave them, one upsert per kind. Each contact
      // once per batch, so a batch reads what the batches before it wrote, as line after line would.
      let batch: CraRecord[] = [];
      const inBatch = new Set<string>();
      const flush = async (): Promise<void> => {
        const lines = batch;
        batch = [];
        inBatch.clear();
        const ambiguous = new Map<string, string[]>();
        for (const l of lines)
          if (
            new Set(
              codesForRecord(l.callResult, l.callAdress)
                .map((c) => MEDIUM_OF_CODE[c.medium])
                .filter((m) => m !== undefined),
            ).size !== 1
          )
            (ambiguous.get(l.broadcastId) ?? ambiguous.set(l.broadcastId, []).get(l.broadcastId)!).push(l.contactId);
        const pushed = new Map<string, string[]>();
        for (const [b, contacts] of ambiguous)
          for (const r of await this.sql.all<{ contact_id: string; medium: string }>(
            `SELECT contact_id, medium FROM contact_results WHERE broadcast_id = ? AND contact_id IN (${contacts.map(() => '?').join(',')})`,
            b,
            ...contacts,
          ))
            (pushed.get(`${b}\u0000${r.contact_id}`) ?? pushed.set(`${b}\u0000${r.contact_id}`, []).get(`${b}\u0000${r.contact_id}`)!).push(r.medium);
        const exact: ContactResultRow[] = [];
        const vague: ContactResultRow[] = [];
        for (const l of lines) {
          const codes = codesForRecord(l.callResult, l.callAdress);
          const media = new Set(codes.map((c) => MEDIUM_OF_CODE[c.medium]).filter((m) => m !== undefined));
          // The label names no single medium: the contact's one medium as the push gave it, if it did.
          const known = media.size === 1 ? [] : (pushed.get(`${l.broadcastId}\u0000${l.contactId}`) ?? []);
          const medium =
            media.size === 1 ? [...media][0]! : known.length === 1 ? known[0]! : l.callAdress.includes('@') ? 'mail' : known.length ? known[0]! : '';
          const date = l.callDate.replace(/\//g, '-');
          (codes.length === 1 ? exact : vague).push({
            broadcast_id: l.broadcastId,
            contact_id: l.contactId,
            medium,
            address: l.callAdress,
            address_key: addressKey(l.callAdress, ''),
            ref: l.externalReference.trim(),
            status: 'REPORTED',
            final: codes.some((c) => SUCCESS_CODES.has(c.code)) ? 'delivered' : 'failed',
            code: codes.length ? codes.map((c) => c.code).join('|') : null,
            label: l.callResult,
            date,
            // A report line is the contact's final result at its call date: after any push status of that second.
            sort: `${date}|99|0000`,
            source: 'report',
            updated_at: at,
          });
        }
        await this.upsertResult(...exact);
        await this.upsertVague(...vague);
      };
      for (const l of lines) {
        if (!l.broadcastId || !l.contactId) continue;
        broadcasts.add(l.broadcastId);
        const key = `${l.broadcastId}\u0000${l.contactId}`;
        if (inBatch.has(key) || batch.length >= 200) await flush();
        batch.push(l);
        inBatch.add(key);
      }
      await flush();
      await this.markDue([...broadcasts]);
      return [...broadcasts];
    });
  }

  /** Marks due the inputs whose triggers (or whose group's triggers) went out as these broadcasts. */
  async markDue(broadcastIds: readonly string[]): Promise<void> {
    for (let i = 0; i < broadcastIds.length; i += ENTRY_BATCH) {
      const chunk = broadcastIds.slice(i, i + ENTRY_BATCH);
      await this.sql.run(MARK_DUE(chunk.length), ...chunk);
    }
  }

  /** The inputs and triggers these broadcasts came from. */
  async linksOf(broadcastIds: readonly string[]): ReturnType<Journal['broadcastLinks']> {
    const ids: number[] = [];
    for (let i = 0; i < broadcastIds.length; i += ENTRY_BATCH) {
      const chunk = broadcastIds.slice(i, i + ENTRY_BATCH);
      for (const r of await this.sql.all<{ id: number }>(
        `SELECT id FROM triggers WHERE broadcast_id IN (${chunk.map(() => '?').join(', ')}) ORDER BY id`,
        ...chunk,
      ))
        ids.push(Number(r.id));
    }
    return this.journal.broadcastLinks(ids);
  }

  /** The inputs waiting for their results file to be rewritten. */
  async due(limit = 100): Promise<number[]> {
    return (await this.sql.all<{ input_id: number }>('SELECT input_id FROM results_due ORDER BY input_id LIMIT ?', limit)).map((r) => Number(r.input_id));
  }

  async undue(inputId: number): Promise<void> {
    await this.sql.run('DELETE FROM results_due WHERE input_id = ?', inputId);
  }

  /** The broadcasts an input's contacts went out in (its own triggers, or its group leader's). */
  async broadcastsOf(inputId: number): Promise<string[]> {
    return (
      await this.sql.all<{ b: string }>(
        `SELECT DISTINCT t.broadcast_id b FROM inputs i JOIN triggers t ON t.input_id = CASE WHEN i.group_leader > 0 THEN i.group_leader ELSE i.id END
         WHERE i.id = ? AND t.broadcast_id IS NOT NULL`,
        inputId,
      )
    ).map((r) => r.b);
  }

  /** Records what the results file of an input said (the console and `push results` read it back). */
  async setResultsFile(inputId: number, path: string | null, summary: unknown, final: boolean, writtenAt = new Date()): Promise<void> {
    await this.sql.run(
      `INSERT INTO results_files (input_id, path, summary, final, written_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (input_id) DO UPDATE SET path = excluded.path, summary = excluded.summary, final = excluded.final, written_at = excluded.written_at`,
      inputId,
      path,
      JSON.stringify(summary),
      final ? 1 : 0,
      writtenAt.toISOString(),
    );
  }

  /** Makes due, for one last rewrite marked final, the inputs created before `cutoff` whose results file is not final yet. */
  async markExpiredDue(cutoff: string): Promise<void> {
    await this.sql.run(
      'INSERT INTO results_due (input_id) SELECT f.input_id FROM results_files f JOIN inputs i ON i.id = f.input_id WHERE f.final = 0 AND i.created_at < ? ON CONFLICT DO NOTHING',
      cutoff,
    );
  }

  /** The summary of an input's last results file, if one was written. */
  async resultsFile(inputId: number): Promise<{ path: string | null; summary: unknown; final: boolean } | undefined> {
    const r = await this.sql.get<{ path: string | null; summary: string; final: number }>(
      'SELECT path, summary, final FROM results_files WHERE input_id = ?',
      inputId,
    );
    return r ? { path: r.path, summary: JSON.parse(r.summary) as unknown, final: Number(r.final) === 1 } : undefined;
  }

  /**
   * Looks up the results of these broadcasts by reference or by address. On
   * SQLite, one indexed query per export row: memory stays flat whatever the
   * broadcast's size (measured: a preloaded index of a 100,000-contact
   * broadcast takes as long and 40% more memory). On PostgreSQL a query per
   * row would cost a round trip each: the broadcasts' results are read once.
   */
  async lookup(broadcastIds: readonly string[]): Promise<ResultLookup> {
    const cols = 'broadcast_id, medium, address, ref, status, final, code, label, date, sort, source';
    if (this.sql instanceof SqliteSql) {
      const db = this.sql.db;
      const byRef = db.prepare(`SELECT ${cols} FROM contact_results WHERE ref = ? AND broadcast_id = ?`).raw(true);
      const byAddress = db.prepare(`SELECT ${cols} FROM contact_results WHERE address_key = ? AND broadcast_id = ?`).raw(true);
      const anyRef = db.prepare("SELECT 1 FROM contact_results WHERE broadcast_id = ? AND ref != '' LIMIT 1").pluck();
      const rows = (stmt: Database.Statement, key: string): JoinResult[] => {
        const out: JoinResult[] = [];
        if (!key) return out;
        for (const b of broadcastIds) for (const r of stmt.all(key, b) as unknown[][]) out.push(joinResult(r));
        return out;
      };
      return {
        hasRefs: broadcastIds.some((b) => anyRef.get(b) !== undefined),
        byRef: (ref) => rows(byRef, ref),
        byAddress: (key) => rows(byAddress, key),
      };
    }
    const refs = new Map<string, JoinResult[]>();
    const addresses = new Map<string, JoinResult[]>();
    const add = (m: Map<string, JoinResult[]>, k: string, r: JoinResult): void => {
      if (!k) return;
      const list = m.get(k);
      if (list) list.push(r);
      else m.set(k, [r]);
    };
    for (const b of broadcastIds)
      for (const r of await this.sql.all<Record<string, unknown>>(`SELECT ${cols}, address_key FROM contact_results WHERE broadcast_id = ?`, b)) {
        const j = joinResult(cols.split(', ').map((c) => r[c]));
        add(refs, j.ref, j);
        add(addresses, r.address_key as string, j);
      }
    return {
      hasRefs: refs.size > 0,
      byRef: (ref) => refs.get(ref) ?? [],
      byAddress: (key) => addresses.get(key) ?? [],
    };
  }
}
