/**
 * Outcome: `sent` → `done` | `failed`. Every trigger in flight is followed
 * with one listing per folder per look (in/, processing/, processed/,
 * failed/, in the direction files move, so a file moving on between two
 * listings is found further on), not one poll per trigger: the cost is four
 * listings whatever the number in flight. A trigger in none of them has
 * been archived unseen (`unknown`).
 */
import { remoteJoin } from '../transport/transport.js';
import type { StepContext } from './context.js';
import { isMember } from './grouping.js';
import type { TriggerState } from '../store/journal.js';
import { failInput, finish, settleFiles } from './settle.js';

const FOLDERS = ['in', 'processing', 'processed', 'failed'] as const;

/** Looks once at the server for every trigger in flight; settles the inputs whose triggers all have an outcome. */
export async function followOutcomes(ctx: StepContext): Promise<boolean> {
  const inflight = await ctx.journal.triggersIn('uploaded', 'timeout');
  if (inflight.length === 0) return false;
  const { session, root } = await ctx.link.open();
  const seen = new Map<string, (typeof FOLDERS)[number]>();
  for (const f of FOLDERS) {
    const dir = f === 'in' ? remoteJoin(root, 'in') : remoteJoin(root, 'in', f);
    for (const e of await session.run(`list ${f}/`, (t) => t.list(dir))) seen.set(e.name, f);
  }
  let progressed = false;
  const deadline = ctx.config.timeouts.outcome * 1000;
  for (const t of inflight) {
    const where = seen.get(t.remote_name);
    let next: TriggerState | undefined;
    if (where === 'processed' || where === 'failed') next = where;
    else if (where === undefined) next = 'unknown';
    else if (t.state === 'uploaded' && ctx.now().getTime() - new Date(t.updated_at).getTime() > deadline) next = 'timeout';
    if (!next) continue;
    await ctx.journal.setTrigger(t.id, next, { outcome: next });
    ctx.events.onEvent?.({ type: 'outcome', input: t.input_id, name: t.remote_name, detail: next });
    if (next === 'timeout')
      ctx.logger.warn({ trigger: t.remote_name, where }, `no outcome within timeouts.outcome (${ctx.config.timeouts.outcome} s); still following it`);
    else progressed = true;
  }
  return progressed;
}

/** Inputs whose triggers all have an outcome: done, or failed when the platform refused one. */
export async function concludeSent(ctx: StepContext): Promise<boolean> {
  let progressed = false;
  for (const row of await ctx.journal.inputsIn('sent')) {
    if (isMember(row)) continue;
    const folder = ctx.folderOf(row.folder);
    if (!folder) continue;
    const all = await ctx.journal.triggersOf(row.id);
    if (all.some((t) => t.state === 'uploaded' || t.state === 'timeout')) continue;
    const failed = all.filter((t) => t.state === 'failed');
    if (failed.length) {
      await failInput(ctx, folder, row, [
        {
          code: 'E_EXPORT',
          severity: 'error',
          message: `the platform moved ${failed.map((t) => t.remote_name).join(', ')} to in/failed/: it refused the trigger (see the daily report or the extranet)`,
        },
      ]);
    } else {
      await finish(ctx, row, 'done', 'processed');
      await settleFiles(ctx, (await ctx.journal.input(row.id))!);
    }
    progressed = true;
  }
  return progressed;
}
