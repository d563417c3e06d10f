/**
 * Reports: a step of the worker's loop (never a timer racing an upload on
 * the same connection). Due once at start, daily at `reportsAt` (Paris
 * time; the start-up collection does not count as that day's), and every
 * `reportsEvery` seconds when set. Each report is downloaded, acked,
 * recorded, and its lines linked to the triggers that caused them.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CRA_NAME, summarizeCra, type CraRecord } from '../formats/cra.js';
import { FindingList } from '../formats/findings.js';
import { addressKey } from '../formats/address.js';
import { parisTime } from '../formats/paris-time.js';
import { fetchReports } from '../transport/reports.js';
import type { StepContext } from './context.js';
import { readCraFile } from '../files/reports.js';

/** When report collection is due. */
export class ReportSchedule {
  private startup = true;
  private lastDay = '';
  private lastRun = 0;

  constructor(
    private readonly reportsAt: string,
    private readonly every?: number,
  ) {}

  due(now: Date): boolean {
    if (this.startup) return true;
    const { date, time } = parisTime(now);
    if (time >= this.reportsAt && this.lastDay !== date) return true;
    return this.every !== undefined && now.getTime() - this.lastRun >= this.every * 1000;
  }

  /** A collection succeeded at `now`. */
  done(now: Date): void {
    const { date, time } = parisTime(now);
    // Only a collection at or after reportsAt counts as the day's: one at 06:00 leaves the 07:00 one due.
    if (time >= this.reportsAt) this.lastDay = date;
    this.startup = false;
    this.lastRun = now.getTime();
  }
}

/** Downloads and acks the reports; the journal records each and links the broadcasts to their inputs. */
export async function collectReports(ctx: StepContext): Promise<void> {
  const { session, root } = await ctx.link.open();
  const got: { name: string; size: number; localPath: string; fetched: string; ack: string }[] = [];
  await fetchReports(session, {
    remoteRoot: root,
    serviceId: ctx.config.service.serviceId,
    dir: ctx.config.reports.dir,
    ackNaming: ctx.config.reports.ackNaming,
    logger: ctx.logger,
    onReport: (r) => {
      got.push(r);
    },
  });
  // A report acked by a run killed before it linked it is gone from the server: link the local copy.
  const names = new Set(got.map((r) => r.name));
  for (const name of await readdir(ctx.config.reports.dir).catch(() => [] as string[])) {
    if (names.has(name) || CRA_NAME.exec(name)?.[1] !== ctx.config.service.serviceId || (await ctx.journal.report(name))) continue;
    const localPath = join(ctx.config.reports.dir, name);
    got.push({ name, size: (await stat(localPath)).size, localPath, fetched: 'present', ack: 'acked' });
  }
  // The report's row is written once its lines are linked to the triggers: a report marked acked is also linked.
  for (const r of got) {
    const known = await ctx.journal.report(r.name);
    let detail = `${r.fetched}, ${r.ack}`;
    if (!known || known.size !== r.size) {
      const lines: { ref: string; broadcastId: string }[] = [];
      const records: CraRecord[] = [];
      for await (const rec of readCraFile(r.localPath, new FindingList(0))) {
        records.push(rec);
        if (rec.externalReference) lines.push({ ref: rec.externalReference.trim(), broadcastId: rec.broadcastId });
        const address = addressKey(rec.callAdress, '');
        if (address) lines.push({ ref: `@${address}`, broadcastId: rec.broadcastId });
      }
      // Summarized now, while its lines are in hand: the console's report page reads this, never the file (100,000 lines).
      const summary = await summarizeCra(
        (async function* () {
          yield* records;
        })(),
      );
      await ctx.journal.tx(async () => {
        await ctx.journal.setReportSummary(r.name, r.size, summary);
        const linked = await ctx.journal.linkBroadcasts(lines);
        // Each line is its contact's final result: the inputs of these broadcasts are due for their results file.
        await ctx.statuses.recordReport(records);
        await ctx.hooks.enqueue({
          event: 'report',
          report: { name: r.name, localPath: r.localPath },
          links: await ctx.journal.broadcastLinks(linked),
          detail: `${lines.length} results, ${linked.length} trigger(s) linked`,
        });
        await ctx.journal.setReport({ name: r.name, size: r.size, state: r.ack === 'not-acked' ? 'downloaded' : 'acked', local_path: r.localPath });
        // Triggers are usually linked already (by the push statuses): say how many of the report's broadcasts are this daemon's.
        const broadcasts = [...new Set(records.map((x) => x.broadcastId))];
        let ours = 0;
        for (const b of broadcasts) if ((await ctx.statuses.linksOf([b])).length > 0) ours++;
        detail += `; ${ours} of its ${broadcasts.length} broadcast(s) came from this daemon's triggers${linked.length ? ` (${linked.length} trigger(s) linked by it)` : ''}`;
      });
    } else {
      await ctx.journal.setReport({ name: r.name, size: r.size, state: r.ack === 'not-acked' ? 'downloaded' : 'acked', local_path: r.localPath });
    }
    ctx.metrics.reportCollected();
    ctx.events.onEvent?.({ type: 'report', name: r.name, detail });
  }
  ctx.events.onEvent?.({ type: 'collected', detail: `${got.length} report(s)` });
}
