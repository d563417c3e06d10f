/**
 * Results files: a step of the worker's loop. An input whose broadcasts got
 * new statuses (push or report) is due; once its export is in sent/, its
 * results file and summary are rewritten (results/ in the drop folder).
 * An input past `finalAfterDays` gets a last rewrite, marked final.
 */
import { join } from 'node:path';
import type { ContactColumn } from '../formats/contacts.js';
import { writeResultsFile, type ResultsSummary } from '../results/results-file.js';
import { NotRegularFileError } from '../files/no-follow.js';
import { dirs, exists, printable, type StepContext } from './context.js';

/** `results/<name>.results.csv` (the configured name) and `results/<name>.summary.json`. */
export function resultsPaths(folder: string, exportName: string, pattern: string): { file: string; summary: string } {
  const dir = join(folder, 'results');
  return { file: join(dir, pattern.replace(/\{name\}/g, exportName)), summary: join(dir, `${exportName}.summary.json`) };
}

/** How often the inputs past `finalAfterDays` are looked for, and when each daemon (its status store) last did. */
const EXPIRY_LOOK_MS = 60_000;
const expiryLookedAt = new WeakMap<object, number>();

/**
 * Writes the results files that are due. `quiet`: the journal says nothing
 * was made due since a pass last found none (Journal.quiet), so the due
 * inputs are not read unless the look for expired ones ran. Resolves with
 * whether a file was written, and whether inputs were due (written or not).
 */
export async function writeDueResults(ctx: StepContext, quiet = false): Promise<{ wrote: boolean; due: boolean }> {
  const r = ctx.d.results;
  if (!r.enabled) return { wrote: false, due: false };
  const now = ctx.now();
  const cutoff = new Date(now.getTime() - r.finalAfterDays * 86_400_000).toISOString();
  // Past finalAfterDays and not final yet: one last rewrite, final. A matter of days: looked for once a minute, not every pass.
  let looked = false;
  if (now.getTime() - (expiryLookedAt.get(ctx.statuses) ?? -Infinity) >= EXPIRY_LOOK_MS) {
    await ctx.statuses.markExpiredDue(cutoff);
    expiryLookedAt.set(ctx.statuses, now.getTime());
    looked = true;
  }
  if (quiet && !looked) return { wrote: false, due: false };
  let wrote = false;
  const due = await ctx.statuses.due();
  for (const id of due) {
    if (ctx.stopping()) break;
    const row = await ctx.journal.input(id);
    const folder = row ? ctx.folderOf(row.folder) : undefined;
    if (!row || !folder || row.kind !== 'export' || (row.state !== 'done' && row.settled)) {
      await ctx.statuses.undue(id);
      continue;
    }
    // Not in sent/ yet: written once it is.
    if (row.state !== 'done' || !row.settled) continue;
    const exportPath = join(dirs(folder.path).sent, row.name);
    if (!(await exists(exportPath))) {
      ctx.logger.warn({ input: id, name: printable(row.name) }, 'the export is no longer in sent/: its results file cannot be written');
      await ctx.statuses.undue(id);
      continue;
    }
    const paths = resultsPaths(folder.path, row.name, r.name);
    const broadcasts = await ctx.statuses.broadcastsOf(id);
    let summary: ResultsSummary;
    try {
      summary = await writeResultsFile({
        exportPath,
        outPath: paths.file,
        summaryPath: paths.summary,
        map: folder.map as Partial<Record<ContactColumn, string>>,
        lookup: await ctx.statuses.lookup(broadcasts),
        input: { id, name: row.name, folder: row.folder },
        broadcasts,
        expired: row.created_at < cutoff,
        followLinks: false,
        ...(row.rejected ? { rejected: await ctx.journal.rejectedRows(id) } : {}),
      });
    } catch (e) {
      if (e instanceof NotRegularFileError) {
        // Not a file the daemon wrote (a link or a folder put in sent/): said once, never read, not tried again.
        ctx.logger.error({ input: id, name: printable(row.name), err: e.message }, 'the export in sent/ was replaced: its results file is not written');
        await ctx.statuses.undue(id);
        continue;
      }
      ctx.logger.error({ input: id, name: printable(row.name), err: (e as Error).message }, 'cannot write the results file; trying again next pass');
      continue;
    }
    await ctx.journal.tx(async () => {
      await ctx.statuses.setResultsFile(id, paths.file, summary, summary.final, now);
      await ctx.statuses.undue(id);
    });
    const s = summary.byStatus;
    ctx.events.onEvent?.({
      type: 'results',
      input: id,
      name: row.name,
      detail: `${s.delivered} delivered, ${s.failed} failed, ${s.pending} pending${summary.final ? ' (final)' : ''}`,
    });
    wrote = true;
  }
  return { wrote, due: due.length > 0 };
}
