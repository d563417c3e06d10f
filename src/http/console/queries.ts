/**
 * What the console's pages read from the journal: a page at a time, on
 * indexed columns, so that a journal of 100,000 inputs renders each page in
 * milliseconds (the bench measures it).
 */
import type { InputRow, Journal, ReportRow } from '../../store/journal.js';
import { contactCounts, type FinalStatus } from '../../store/statuses.js';
import { parisTime, parisWallToDate } from '../../formats/paris-time.js';

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
  constructor(private readonly journal: Journal) {
    // The console's filters and pages (created once; cheap when present).
    journal.db.exec('CREATE INDEX IF NOT EXISTS inputs_folder ON inputs(folder, id); CREATE INDEX IF NOT EXISTS triggers_broadcast ON triggers(broadcast_id)');
  }

  private get db() {
    return this.journal.db;
  }

  overview(): {
    inputs: Record<string, number>;
    triggers: Record<string, number>;
    folders: { path: string; healthy: boolean; error: string | null }[];
    hooks: Record<string, number>;
    failed: number;
    lastReport?: ReportRow;
  } {
    const s = this.journal.summary();
    const lastReport = this.db.prepare('SELECT * FROM reports ORDER BY updated_at DESC LIMIT 1').get() as ReportRow | undefined;
    return {
      inputs: s.inputs,
      triggers: s.triggers,
      folders: this.journal.folders().map((f) => ({ path: f.path, healthy: f.healthy === 1, error: f.error })),
      hooks: this.journal.hookSummary(),
      failed: s.inputs['failed'] ?? 0,
      ...(lastReport ? { lastReport } : {}),
    };
  }

  /** The overview's large counters: exports sent and triggers processed since midnight (Paris), statuses still pending. */
  counters(): { sentToday: number; processedToday: number; pendingStatuses: number } {
    const midnight = parisWallToDate(`${parisTime(new Date()).date} 00:00`).toISOString();
    const n = (sql: string, ...args: unknown[]): number => (this.db.prepare(sql).get(...args) as { n: number }).n;
    return {
      sentToday: n("SELECT COUNT(*) n FROM inputs WHERE kind IN ('export', 'trigger') AND state IN ('sent', 'done') AND updated_at >= ?", midnight),
      processedToday: n("SELECT COUNT(*) n FROM triggers WHERE state = 'processed' AND updated_at >= ?", midnight),
      pendingStatuses: n("SELECT COUNT(*) n FROM contact_results WHERE final = 'pending'"),
    };
  }

  /** The last 24 hours, hour by hour: triggers processed and inputs failed (by when they reached that state). */
  activity(now = new Date()): [number[], number[], number[]] {
    const hour = 3_600_000;
    const end = Math.floor(now.getTime() / hour) * hour + hour;
    const start = end - 24 * hour;
    const since = new Date(start).toISOString();
    const per = (sql: string): Map<number, number> =>
      new Map((this.db.prepare(sql).all(since) as { h: string; n: number }[]).map((r) => [Date.parse(`${r.h}:00:00.000Z`), r.n] as [number, number]));
    const processed = per("SELECT substr(updated_at, 1, 13) h, COUNT(*) n FROM triggers WHERE state = 'processed' AND updated_at >= ? GROUP BY h");
    const failed = per("SELECT substr(updated_at, 1, 13) h, COUNT(*) n FROM inputs WHERE state = 'failed' AND updated_at >= ? GROUP BY h");
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

  states(): string[] {
    return (this.db.prepare('SELECT DISTINCT state FROM inputs ORDER BY state').all() as { state: string }[]).map((r) => r.state);
  }

  inputs(f: InputFilter, page: number): { rows: InputRow[]; total: number } {
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
    const total = (this.db.prepare(`SELECT COUNT(*) n FROM inputs ${w}`).get(...args) as { n: number }).n;
    const rows = this.db.prepare(`SELECT * FROM inputs ${w} ORDER BY id DESC LIMIT ? OFFSET ?`).all(...args, PAGE_SIZE, (page - 1) * PAGE_SIZE) as InputRow[];
    return { rows, total };
  }

  resultsSummary(inputId: number): { byStatus: Record<string, number>; final: boolean; resultsFile: string } | undefined {
    const r = this.db.prepare('SELECT summary FROM results_files WHERE input_id = ?').get(inputId) as { summary: string } | undefined;
    return r ? (JSON.parse(r.summary) as { byStatus: Record<string, number>; final: boolean; resultsFile: string }) : undefined;
  }

  broadcasts(page: number): {
    rows: { broadcastId: string; inputId: number; inputName: string; contacts: number; byStatus: Record<FinalStatus, number> }[];
    total: number;
  } {
    const total = (this.db.prepare('SELECT COUNT(DISTINCT broadcast_id) n FROM triggers WHERE broadcast_id IS NOT NULL').get() as { n: number }).n;
    const list = this.db
      .prepare(
        `SELECT t.broadcast_id b, MIN(t.input_id) input, SUM(t.contacts) contacts FROM triggers t WHERE t.broadcast_id IS NOT NULL
         GROUP BY t.broadcast_id ORDER BY MAX(t.id) DESC LIMIT ? OFFSET ?`,
      )
      .all(PAGE_SIZE, (page - 1) * PAGE_SIZE) as { b: string; input: number; contacts: number }[];
    const rows = list.map((l) => ({
      broadcastId: l.b,
      inputId: l.input,
      inputName: this.journal.input(l.input)?.name ?? '',
      contacts: l.contacts,
      byStatus: contactCounts(this.db, l.b),
    }));
    return { rows, total };
  }

  /** A broadcast: its inputs, counts per final status and medium, and deliveries over time (cumulative, per minute). */
  broadcast(id: string): {
    inputs: { id: number; name: string }[];
    byStatus: Record<FinalStatus, number>;
    byMedium: Record<string, Record<FinalStatus, number>>;
    series: [number[], number[], number[]];
  } {
    const inputs = this.db
      .prepare('SELECT DISTINCT i.id, i.name FROM triggers t JOIN inputs i ON i.id = t.input_id WHERE t.broadcast_id = ? ORDER BY i.id')
      .all(id) as { id: number; name: string }[];
    const byStatus = contactCounts(this.db, id);
    const byMedium: Record<string, Record<FinalStatus, number>> = {};
    for (const r of this.db.prepare('SELECT medium, final, COUNT(*) n FROM contact_results WHERE broadcast_id = ? GROUP BY medium, final').all(id) as {
      medium: string;
      final: FinalStatus;
      n: number;
    }[]) {
      (byMedium[r.medium || '?'] ??= zero())[r.final] += r.n;
    }
    // Per minute of the status date, cumulated.
    const buckets = this.db
      .prepare(
        "SELECT substr(date, 1, 16) m, SUM(final = 'delivered') d, SUM(final = 'failed') f FROM contact_results WHERE broadcast_id = ? AND final != 'pending' GROUP BY m ORDER BY m",
      )
      .all(id) as { m: string; d: number; f: number }[];
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

  reports(): ReportRow[] {
    return this.db.prepare('SELECT * FROM reports ORDER BY name DESC LIMIT 500').all() as ReportRow[];
  }
}
