/**
 * Grouping (`group: {windowSeconds, maxFiles}`): the exports of a window go
 * out as one broadcast. The leader's triggers carry every member's
 * contacts; members follow the leader to sent, done or failed. A failed
 * grouped build sends each export through alone, so the bad one is named.
 */
import { lstat } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import type { DropFolderConfig } from '../config/config.js';
import { buildTriggerFiles } from '../files/build.js';
import type { ContactColumn } from '../formats/contacts.js';
import { commandFor, namedParts, otherService, stillChanging } from './build-step.js';
import type { StepContext } from './context.js';
import type { InputRow } from '../store/journal.js';
import { failInput, finish, settleFiles } from './settle.js';

/** True when the input is a member of a group led by another input. */
export const isMember = (r: InputRow): boolean => r.group_leader !== null && r.group_leader > 0 && r.group_leader !== r.id;

/** Builds one trigger from the waiting exports of a grouped folder, once the oldest has waited the window (or maxFiles wait). */
export async function buildGroup(ctx: StepContext, folder: DropFolderConfig): Promise<boolean> {
  const g = folder.group!;
  const rows = (await ctx.journal.inputsIn('working')).filter((r) => r.folder === folder.path && r.group_leader === null && r.kind === 'export');
  if (rows.length === 0) return false;
  const oldest = new Date(rows[0]!.created_at).getTime();
  if (ctx.now().getTime() - oldest < g.windowSeconds * 1000 && rows.length < g.maxFiles) return false;
  const members = rows.slice(0, g.maxFiles);
  // An export still being written waits, and the group with it.
  for (const m of members) if (await stillChanging(ctx, m)) return false;
  // A member replaced by a link (or a folder) since it was taken is never read: each is then judged alone, and it refused.
  for (const m of members)
    if (!(await lstat(m.work_path)).isFile()) {
      await ctx.journal.buildAlone(members.map((x) => x.id));
      return true;
    }
  const leader = members[0]!;
  if (members.length === 1) {
    await ctx.journal.buildAlone([leader.id]);
    return true;
  }
  let cmd;
  try {
    cmd = await commandFor(folder, leader);
  } catch (e) {
    // The folder's command itself is at fault: each export is then judged (and counted) alone.
    ctx.logger.warn({ folder: folder.path, err: (e as Error).message }, 'grouped build impossible; building each export alone');
    await ctx.journal.buildAlone(members.map((m) => m.id));
    return true;
  }
  if (cmd.serviceId !== ctx.config.service.serviceId) {
    for (const m of members) await failInput(ctx, folder, m, [otherService(ctx, cmd.serviceId)]);
    return true;
  }
  const out = `${leader.work_path}.trigger.${folder.format}`;
  const r = await buildTriggerFiles(
    cmd,
    members.map((m) => m.work_path),
    {
      out,
      format: folder.format,
      ...(folder.split !== undefined ? { split: folder.split } : {}),
      export: { map: folder.map as Partial<Record<ContactColumn, string>> },
    },
  );
  if (!r.ok) {
    ctx.logger.warn({ folder: folder.path, members: members.length }, 'grouped build failed; building each export alone');
    await ctx.journal.buildAlone(members.map((m) => m.id));
    return true;
  }
  const parts = await namedParts(`${basename(leader.name, extname(leader.name))}+${members.length - 1}`, r.files, new Date(leader.created_at));
  await ctx.journal.addGroup(
    leader.id,
    members.map((m) => m.id),
    parts,
  );
  ctx.events.onEvent?.({
    type: 'built',
    input: leader.id,
    name: leader.name,
    detail: `${members.length} exports grouped, ${r.contacts} contacts, ${parts.length} file(s)`,
  });
  return true;
}

/** A grouped export follows its leader: sent, then done or failed with it. */
export async function followLeader(ctx: StepContext, row: InputRow): Promise<boolean> {
  const leader = await ctx.journal.input(row.group_leader!);
  if (!leader || leader.state === row.state || !['sent', 'done', 'failed'].includes(leader.state)) return false;
  const folder = ctx.folderOf(row.folder);
  if (!folder) return false;
  if (leader.state === 'sent') {
    await ctx.journal.setInput(row.id, 'sent');
    return true;
  }
  if (leader.state === 'done') {
    if (row.state === 'built') await ctx.journal.setInput(row.id, 'sent');
    await finish(ctx, row, 'done', 'processed', `sent with input #${leader.id} (${leader.name})`);
    await settleFiles(ctx, (await ctx.journal.input(row.id))!);
    return true;
  }
  await failInput(ctx, folder, row, [
    {
      code: 'E_EXPORT',
      severity: 'error',
      message: `sent as one broadcast with input #${leader.id} (${leader.name}), which failed: ${leader.last_error ?? ''}`,
    },
  ]);
  return true;
}
