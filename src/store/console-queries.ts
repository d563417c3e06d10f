/**
 * What the console's pages read from the journal: a page at a time, on
 * indexed columns, so that a journal of 100,000 inputs renders each page in
 * milliseconds (the bench measures it). Written once for both backends.
 */
import type { InputRow, Journal, ReportRow } from './journal.js';
import type { Sql } from './sql.js';
import { contactCounts, StatusStore, type FinalStatus } from './statuses.js';
import { parisTime, parisWallToDate } from '../formats/paris-time.js';

export const PAGE_SIZE = 50;

export interface InputFilter {
  readonly state?: string | undefined;
  readonly folder?: string | undefined;
  /** `YYYY-MM-DD`: inputs taken that day (UTC, as the journal records). */
  readonly date?: string | undefined;
  /** Part of the file name. */
  readonly name?: string | undefined;
}

const zero = (): Record<FinalStatus, number> => ({ delivered: 0, failed: 0, pending: 0 });

export class ConsoleQueries {
  private readonly sql: Sql;
  private readonly statuses: StatusStore;

  constructor(private readonly journal: Journal) {
    this.sql = journal.sql;
    this.statuses = new StatusStore(journal);
  }

  private async n(sql: string, ...args: unknown[]): Promise<number> {
    return Number((await this.sql.get<{ n: number }>(sql, ...args))?.n ?? 0);
  }

  async overview(): Promise<{
    inputs: Record<string, number>;
    triggers: Record<string, number>;
    folders: { path: string; healthy: boolean; error: string | null }[];
    hooks: Record<string, number>;
    failed: number;
    lastReport?: ReportRow;
  }> {
    const s = await this.journal.summary();
    const lastReport = await this.journal.lastReport();
    return {
      inputs: s.inputs,
      triggers: s.triggers,
      folders: (await this.journal.folders()).map((f) => ({ path: f.path, healthy: f.healthy === 1, error: f.error })),
      hooks: await this.journal.hookSummary(),
      failed: s.inputs['failed'] ?? 0,
      ...(lastReport ? { lastReport } : {}),
    };
  }

  /** The overview's large counters: exports sent and triggers processed since midnight (Paris), statuses still pending. */
  async counters(): Promise<{ sentToday: number; processedToday: number; pendingStatuses: number }> {
    const midnight = parisWallToDate(`${parisTime(new Date()).date} 00:00`).toISOString();
    const n = (sql: string, ...args: unknown[]): Promise<number> => this.n(sql, ...args);
    return {
      sentToday: await n("SELECT COUNT(*) n FROM inputs WHERE kind IN ('export', 'trigger') AND state IN ('sent', 'done') AND updated_at >= ?", midnight),
      processedToday: await n("SELECT COUNT(*) n FROM triggers WHERE state = 'processed' AND updated_at >= ?", midnight),
      pendingStatuses: await n("SELECT COUNT(*) n FROM contact_results WHERE final = 'pending'"),
    };
  }

  /** The last 24 hours, hour by hour: triggers processed and inputs failed (by when they reached that state). */
  async activity(now = new Date()): Promise<[number[], number[], number[]]> {
    const hour = 3_600_000;
    const end = Math.floor(now.getTime() / hour) * hour + hour;
    const start = end - 24 * hour;
    const since = new Date(start).toISOString();
    const per = async (sql: string): Promise<Map<number, number>> =>
      new Map((await this.sql.all<{ h: string; n: number }>(sql, since)).map((r) => [Date.parse(`${r.h}:00:00.000Z`), Number(r.n)] as [number, number]));
    const processed = await per(
      "SELECT substr(updated_at, 1, 13) h, COUNT(*) n FROM triggers WHERE state = 'processed' AND updated_at >= ? GROUP BY substr(updated_at, 1, 13)",
    );
    const failed = await per(
      "SELECT substr(updated_at, 1, 13) h, COUNT(*) n FROM inputs WHERE state = 'failed' AND updated_at >= ? GROUP BY substr(updated_at, 1, 13)",
    );
    const xs: number[] = [];
    const ps: number[] = [];
    const fs: number[] = [];
    for (let t = start; t < end; t += hour) {
      xs.push(t / 1000);
      ps.push(processed.get(t) ?? 0);
      fs.push(failed.get(t) ?? 0);
    }
    return [xs, ps, fs];
  }

  async states(): Promise<string[]> {
    return (await this.sql.all<{ state: string }>('SELECT DISTINCT state FROM inputs ORDER BY state')).map((r) => r.state);
  }

  async inputs(f: InputFilter, page: number): Promise<{ rows: InputRow[]; total: number }> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (f.state) {
      where.push('state = ?');
      args.push(f.state);
    }
    if (f.folder) {
      where.push('folder = ?');
      args.push(f.folder);
    }
    if (f.date && /^\d{4}-\d{2}-\d{2}$/.test(f.date)) {
      where.push('created_at >= ? AND created_at < ?');
      args.push(f.date, `${f.date}T99`);
    }
    if (f.name) {
      where.push("name LIKE ? ESCAPE '\\'");
      args.push(`%${f.name.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    }
    const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = await this.n(`SELECT COUNT(*) n FROM inputs ${w}`, ...args);
    const rows = await this.sql.all<InputRow>(`SELECT * FROM inputs ${w} ORDER BY id DESC LIMIT ? OFFSET ?`, ...args, PAGE_SIZE, (page - 1) * PAGE_SIZE);
    return { rows, total };
  }

  async resultsSummary(inputId: number): Promise<{ byStatus: Record<string, number>; final: boolean; resultsFile: string } | undefined> {
    return (await this.statuses.resultsFile(inputId))?.summary as { byStatus: Record<string, number>; final: boolean; resultsFile: string } | undefined;
  }

  async broadcasts(page: number): Promise<{
    rows: { broadcastId: string; inputId: number; inputName: string; contacts: number; byStatus: Record<FinalStatus, number> }[];
    total: number;
  }> {
    const total = await this.n('SELECT COUNT(DISTINCT broadcast_id) n FROM triggers WHERE broadcast_id IS NOT NULL');
    const list = await this.sql.all<{ b: string; input: number; contacts: number }>(
      `SELECT t.broadcast_id b, MIN(t.input_id) input, SUM(t.contacts) contacts FROM triggers t WHERE t.broadcast_id IS NOT NULL
       GROUP BY t.broadcast_id ORDER BY MAX(t.id) DESC LIMIT ? OFFSET ?`,
      PAGE_SIZE,
      (page - 1) * PAGE_SIZE,
    );
    const rows = [];
    for (const l of list)
      rows.push({
        broadcastId: l.b,
        inputId: Number(l.input),
        inputName: (await this.journal.input(Number(l.input)))?.name ?? '',
        contacts: Number(l.contacts),
        byStatus: await contactCounts(this.sql, l.b),
      });
    return { rows, total };
  }

  /** A broadcast: its inputs, counts per final status and medium, and deliveries over time (cumulative, per minute). */
  async broadcast(id: string): Promise<{
    inputs: { id: number; name: string }[];
    byStatus: Record<FinalStatus, number>;
    byMedium: Record<string, Record<FinalStatus, number>>;
    series: [number[], number[], number[]];
  }> {
    const inputs = (
      await this.sql.all<{ id: number; name: string }>(
        'SELECT DISTINCT i.id, i.name FROM triggers t JOIN inputs i ON i.id = t.input_id WHERE t.broadcast_id = ? ORDER BY i.id',
        id,
      )
    ).map((r) => ({ id: Number(r.id), name: r.name }));
    const byStatus = await contactCounts(this.sql, id);
    const byMedium: Record<string, Record<FinalStatus, number>> = {};
    for (const r of await this.sql.all<{ medium: string; final: FinalStatus; n: number }>(
      'SELECT medium, final, COUNT(*) n FROM contact_results WHERE broadcast_id = ? GROUP BY medium, final',
      id,
    )) {
      (byMedium[r.medium || '?'] ??= zero())[r.final] += Number(r.n);
    }
    // Per minute of the status date, cumulated.
    const buckets = (
      await this.sql.all<{ m: string; d: number; f: number }>(
        `SELECT substr(date, 1, 16) m, SUM(CASE WHEN final = 'delivered' THEN 1 ELSE 0 END) d, SUM(CASE WHEN final = 'failed' THEN 1 ELSE 0 END) f
         FROM contact_results WHERE broadcast_id = ? AND final != 'pending' GROUP BY substr(date, 1, 16) ORDER BY substr(date, 1, 16)`,
        id,
      )
    ).map((b) => ({ m: b.m, d: Number(b.d), f: Number(b.f) }));
    const xs: number[] = [];
    const ds: number[] = [];
    const fs: number[] = [];
    let d = 0;
    let f = 0;
    for (const b of buckets) {
      // Status dates are Paris wall-clock times: the chart gets the instants they stand for, and draws them on a Paris clock.
      const x = parisWallToDate(b.m).getTime() / 1000;
      // The line starts at zero the minute before the first status.
      if (xs.length === 0) {
        xs.push(x - 60);
        ds.push(0);
        fs.push(0);
      }
      xs.push(x);
      ds.push((d += b.d));
      fs.push((f += b.f));
    }
    return { inputs, byStatus, byMedium, series: [xs, ds, fs] };
  }

  reports(): Promise<ReportRow[]> {
    return this.journal.reports(500);
  }
}
