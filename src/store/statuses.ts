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
import { addressKey } from '../formats/address.js';

export type FinalStatus = 'delivered' | 'failed' | 'pending';

/**
 * Contacts by final status, as the results file counts them: a contact is
 * delivered when any of its media delivered, pending while any is pending,
 * failed otherwise, and pending while it has no status at all (including
 * contacts no status named yet). One broadcast, or every broadcast linked to
 * a trigger. The console's pages and `/metrics` count with this one function.
 */
export function contactCounts(db: Database.Database, broadcastId?: string): Record<FinalStatus, number> {
  const which = broadcastId === undefined ? 'broadcast_id IN (SELECT broadcast_id FROM triggers WHERE broadcast_id IS NOT NULL)' : 'broadcast_id = @b';
  const args = broadcastId === undefined ? {} : { b: broadcastId };
  const r = db
    .prepare(
      `SELECT SUM(d) delivered, SUM(CASE WHEN d = 0 AND p = 0 AND f > 0 THEN 1 ELSE 0 END) failed FROM (
         SELECT MAX(final = 'delivered') d, MAX(final = 'pending') p, MAX(final = 'failed') f FROM contact_results WHERE ${which} GROUP BY broadcast_id, contact_id)`,
    )
    .get(args) as { delivered: number | null; failed: number | null };
  const contacts = (
    db
      .prepare(`SELECT IFNULL(SUM(contacts), 0) n FROM triggers WHERE ${broadcastId === undefined ? 'broadcast_id IS NOT NULL' : 'broadcast_id = @b'}`)
      .get(args) as {
      n: number;
    }
  ).n;
  const delivered = r.delivered ?? 0;
  const failed = r.failed ?? 0;
  return { delivered, failed, pending: Math.max(0, contacts - delivered - failed) };
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

export class StatusStore {
  private readonly db: Database.Database;
  private readonly insertStatus: Database.Statement;
  private readonly upsertResult: Database.Statement;
  private readonly upsertVague: Database.Statement;
  private readonly mediaOf: Database.Statement;
  private readonly adoptVague: Database.Statement;
  private readonly dropVague: Database.Statement;

  constructor(private readonly journal: Journal) {
    this.db = journal.db;
    this.insertStatus = this.db.prepare(
      `INSERT OR IGNORE INTO push_statuses (medium, broadcast_id, contact_id, call_id, type, date, seq, address, ref, space_id, username, code, info, detail, received_at)
       VALUES (@medium, @broadcast_id, @contact_id, @call_id, @type, @date, @seq, @address, @ref, @space_id, @username, @code, @info, @detail, @received_at)`,
    );
    this.upsertResult = this.db.prepare(
      `INSERT INTO contact_results (broadcast_id, contact_id, medium, address, ref, status, final, code, label, date, sort, source, updated_at, address_key)
       VALUES (@broadcast_id, @contact_id, @medium, @address, @ref, @status, @final, @code, @label, @date, @sort, @source, @updated_at, @address_key)
       ON CONFLICT (broadcast_id, contact_id, medium) DO UPDATE SET
         address = excluded.address, address_key = excluded.address_key, ref = excluded.ref, status = excluded.status, final = excluded.final, code = excluded.code,
         label = excluded.label, date = excluded.date, sort = excluded.sort, source = excluded.source, updated_at = excluded.updated_at
       WHERE excluded.sort > contact_results.sort
          OR (contact_results.source = 'report' AND excluded.final != 'pending' AND (contact_results.code IS NULL OR instr(contact_results.code, '|') > 0))`,
    );
    // A report line whose label names no single code (CRA_SMS_BADNUMBER|CRA_MMS_BADNUMBER|...) only fills in a contact with no final status yet.
    this.upsertVague = this.db.prepare(
      `INSERT INTO contact_results (broadcast_id, contact_id, medium, address, ref, status, final, code, label, date, sort, source, updated_at, address_key)
       VALUES (@broadcast_id, @contact_id, @medium, @address, @ref, @status, @final, @code, @label, @date, @sort, @source, @updated_at, @address_key)
       ON CONFLICT (broadcast_id, contact_id, medium) DO UPDATE SET
         status = excluded.status, final = excluded.final, code = excluded.code,
         label = excluded.label, date = excluded.date, sort = excluded.sort, source = excluded.source, updated_at = excluded.updated_at
       WHERE contact_results.final = 'pending'`,
    );
    this.mediaOf = this.db.prepare('SELECT medium FROM contact_results WHERE broadcast_id = ? AND contact_id = ?').pluck();
    // A report's row without a medium takes the medium of the push that comes after it: one row per contact and medium.
    this.adoptVague = this.db.prepare(
      "UPDATE OR IGNORE contact_results SET medium = @medium WHERE broadcast_id = @broadcast_id AND contact_id = @contact_id AND medium = ''",
    );
    this.dropVague = this.db.prepare("DELETE FROM contact_results WHERE broadcast_id = @broadcast_id AND contact_id = @contact_id AND medium = ''");
  }

  /**
   * Records push reports: each history entry once, each contact's latest
   * status, the broadcasts linked to their triggers, the inputs marked due.
   * Call inside a journal transaction (the receiver's group commit).
   */
  recordPush(reports: readonly PushReport[]): RecordedPush {
    let recorded = 0;
    let duplicates = 0;
    const broadcasts = new Set<string>();
    const refs: { ref: string; broadcastId: string }[] = [];
    const at = now();
    for (const report of reports) {
      for (const e of report.elements) {
        broadcasts.add(e.broadcastId);
        if (e.refExterne) refs.push({ ref: e.refExterne, broadcastId: e.broadcastId });
        const address = addressKey(e.to, '');
        if (address) refs.push({ ref: `@${address}`, broadcastId: e.broadcastId });
        for (const h of e.history) {
          const detail = { ...(h.detail ?? {}), ...(e.voice ?? {}) };
          const r = this.insertStatus.run({
            medium: e.medium,
            broadcast_id: e.broadcastId,
            contact_id: e.contactId,
            call_id: e.callId,
            type: h.type,
            date: h.date,
            seq: h.seq,
            address: e.to,
            ref: e.refExterne,
            space_id: e.spaceId,
            username: report.username,
            code: h.code ?? null,
            info: h.info ?? null,
            detail: Object.keys(detail).length ? JSON.stringify(detail) : null,
            received_at: at,
          });
          if (r.changes) recorded++;
          else duplicates++;
        }
        const last = latestOf(e.history);
        const key = { broadcast_id: e.broadcastId, contact_id: e.contactId, medium: e.medium };
        this.adoptVague.run(key);
        this.dropVague.run(key);
        this.upsertResult.run({
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
    const linked = this.journal.linkBroadcasts(refs);
    this.markDue([...broadcasts]);
    return { recorded, duplicates, broadcasts: [...broadcasts], linked };
  }

  /**
   * Records the lines of a daily report: each is a contact's final result
   * (annex 5.4 label mapped back to its code when the annex makes it
   * unambiguous). Call inside a journal transaction.
   */
  recordReport(lines: Iterable<CraRecord>): string[] {
    const broadcasts = new Set<string>();
    const at = now();
    for (const l of lines) {
      if (!l.broadcastId || !l.contactId) continue;
      const codes = codesForRecord(l.callResult, l.callAdress);
      const media = new Set(codes.map((c) => MEDIUM_OF_CODE[c.medium]).filter((m) => m !== undefined));
      // The label names no single medium: the contact's one medium as the push gave it, if it did.
      const known = media.size === 1 ? undefined : (this.mediaOf.all(l.broadcastId, l.contactId) as string[]);
      const medium =
        media.size === 1 ? [...media][0]! : known!.length === 1 ? known![0]! : l.callAdress.includes('@') ? 'mail' : known!.length ? known![0]! : '';
      const date = l.callDate.replace(/\//g, '-');
      broadcasts.add(l.broadcastId);
      (codes.length === 1 ? this.upsertResult : this.upsertVague).run({
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
    this.markDue([...broadcasts]);
    return [...broadcasts];
  }

  /** Marks due the inputs whose triggers (or whose group's triggers) went out as these broadcasts. */
  markDue(broadcastIds: readonly string[]): void {
    if (broadcastIds.length === 0) return;
    const stmt = this.db.prepare(
      `INSERT OR IGNORE INTO results_due (input_id)
       SELECT i.id FROM inputs i JOIN triggers t ON t.input_id = CASE WHEN i.group_leader > 0 THEN i.group_leader ELSE i.id END
       WHERE t.broadcast_id = ?`,
    );
    for (const b of broadcastIds) stmt.run(b);
  }

  /** The inputs and triggers these broadcasts came from. */
  linksOf(broadcastIds: readonly string[]): ReturnType<Journal['broadcastLinks']> {
    const stmt = this.db.prepare('SELECT id FROM triggers WHERE broadcast_id = ?');
    const ids = broadcastIds.flatMap((b) => (stmt.all(b) as { id: number }[]).map((r) => r.id));
    return this.journal.broadcastLinks(ids);
  }

  /** The inputs waiting for their results file to be rewritten. */
  due(limit = 100): number[] {
    return (this.db.prepare('SELECT input_id FROM results_due ORDER BY input_id LIMIT ?').all(limit) as { input_id: number }[]).map((r) => r.input_id);
  }

  undue(inputId: number): void {
    this.db.prepare('DELETE FROM results_due WHERE input_id = ?').run(inputId);
  }

  /** The broadcasts an input's contacts went out in (its own triggers, or its group leader's). */
  broadcastsOf(inputId: number): string[] {
    return (
      this.db
        .prepare(
          `SELECT DISTINCT t.broadcast_id b FROM inputs i JOIN triggers t ON t.input_id = CASE WHEN i.group_leader > 0 THEN i.group_leader ELSE i.id END
           WHERE i.id = ? AND t.broadcast_id IS NOT NULL`,
        )
        .all(inputId) as { b: string }[]
    ).map((r) => r.b);
  }

  /**
   * Looks up the results of these broadcasts by reference or by address,
   * one indexed query per export row: memory stays flat whatever the
   * broadcast's size (measured: a preloaded index of a 100,000-contact
   * broadcast takes as long and 40% more memory).
   */
  lookup(broadcastIds: readonly string[]): ResultLookup {
    const cols = 'broadcast_id, medium, address, ref, status, final, code, label, date, sort, source';
    const byRef = this.db.prepare(`SELECT ${cols} FROM contact_results WHERE ref = ? AND broadcast_id = ?`).raw(true);
    const byAddress = this.db.prepare(`SELECT ${cols} FROM contact_results WHERE address_key = ? AND broadcast_id = ?`).raw(true);
    const anyRef = this.db.prepare("SELECT 1 FROM contact_results WHERE broadcast_id = ? AND ref != '' LIMIT 1").pluck();
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
}
