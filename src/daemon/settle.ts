/**
 * The end of an input: its error file, its files moved to sent/ or failed/
 * (idempotent), its hook events, and the `settled` mark after which no pass
 * reads it again.
 */
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { writeFileAtomic } from '../files/atomic.js';
import type { DropFolderConfig } from '../config/config.js';
import type { Finding } from '../formats/findings.js';
import { dirs, exists, moveIfThere, printable, type StepContext } from './context.js';
import { errorFileText } from './error-file.js';
import type { HookEventType } from './hooks.js';
import type { InputRow, InputState } from '../store/journal.js';
import { sidecarsBeside } from './sidecar.js';

/** The hook event of an input (its triggers as the journal has them now). */
export async function inputHook(ctx: StepContext, event: HookEventType, row: InputRow, detail?: string): Promise<void> {
  await ctx.hooks.enqueue({
    event,
    input: { id: row.id, folder: row.folder, name: row.name },
    triggers: (await ctx.journal.triggersOf(row.id)).map((t) => ({ remoteName: t.remote_name, contacts: t.contacts, state: t.state })),
    ...(row.rejected ? { rejected: row.rejected } : {}),
    ...(detail ? { detail } : {}),
  });
}

/** Moves an input to a final state and journals its hook event in the same transaction. */
export async function finish(ctx: StepContext, row: InputRow, state: InputState, event: HookEventType | undefined, detail?: string): Promise<void> {
  await ctx.journal.tx(async () => {
    await ctx.journal.setInput(row.id, state, state === 'failed' ? detail?.slice(0, 4000) : undefined);
    if (event) await inputHook(ctx, event, row, detail);
  });
}

/** Records the failure, writes `<name>.error.txt`, moves the files to failed/. */
export async function failInput(ctx: StepContext, folder: DropFolderConfig, row: InputRow, errors: Finding[]): Promise<void> {
  const text = errors
    .slice(0, 50)
    .map((e) => `${e.line !== undefined ? `line ${e.line}: ` : ''}${e.code}${e.field ? ` [${e.field}]` : ''}: ${e.message}`)
    .join('\n');
  // The error file first (its folder made with it): a crash after it re-runs the step; a crash before the move leaves it to the settle pass.
  await writeFileAtomic(join(dirs(folder.path).failed, `${row.name}.error.txt`), errorFileText(row.name, row.id, errors, ctx.d.language));
  await finish(ctx, row, 'failed', 'failed', text);
  await settleFiles(ctx, (await ctx.journal.input(row.id))!);
  ctx.events.onEvent?.({ type: 'failed', input: row.id, name: row.name, detail: text.split('\n')[0] });
}

/** A duplicate: its error file, and the file moved from the drop folder to failed/. */
export async function refuseDuplicate(ctx: StepContext, folder: DropFolderConfig, row: InputRow): Promise<void> {
  await writeFileAtomic(join(dirs(folder.path).failed, `${row.name}.error.txt`), `${row.name} (input #${row.id}): ${row.last_error ?? 'duplicate'}\n`);
  await moveIfThere(join(folder.path, row.name), join(dirs(folder.path).failed, row.name));
  await ctx.journal.settle(row.id);
}

/** Moves an input and its built triggers from work/ to sent/ (done) or failed/, then marks it settled (idempotent). */
export async function settleFiles(ctx: StepContext, row: InputRow): Promise<void> {
  const folder = ctx.folderOf(row.folder);
  if (!folder) return;
  if (row.state === 'duplicate') return refuseDuplicate(ctx, folder, row);
  if (row.kind === 'command') {
    // A refused sidecar never went to work/: from the drop folder to failed/.
    await mkdir(dirs(folder.path).failed, { recursive: true });
    await moveIfThere(join(folder.path, row.name), join(dirs(folder.path).failed, row.name));
    return await ctx.journal.settle(row.id);
  }
  const dest = row.state === 'done' ? dirs(folder.path).sent : dirs(folder.path).failed;
  await mkdir(dest, { recursive: true });
  if (row.state === 'done' && row.kind !== 'document') await saySentPartly(ctx, row, dest);
  // The export moves last: when it appears in sent/ or failed/, what goes with it is already there.
  for (const t of await ctx.journal.triggersOf(row.id)) await moveIfThere(t.local_path, join(dest, basename(t.local_path).replace(/^\d{6}-/, '')));
  // Sidecars keep their own names beside the export (promo.command.yaml or promo.csv.command.yaml).
  const prefix = basename(row.work_path).slice(0, -row.name.length);
  for (const s of await sidecarsBeside(row.work_path, prefix)) await moveIfThere(join(dirname(row.work_path), s), join(dest, s.slice(prefix.length)));
  await moveIfThere(`${row.work_path}.done`, join(dest, `${row.name}.done`));
  await moveIfThere(`${row.work_path}.warnings.txt`, join(dest, `${row.name}.warnings.txt`));
  // Rows left out under partial acceptance belong with what failed, whatever became of the rest.
  if (await exists(`${row.work_path}.rejected.csv`)) {
    await mkdir(dirs(folder.path).failed, { recursive: true });
    await moveIfThere(`${row.work_path}.rejected.csv`, join(dirs(folder.path).failed, `${row.name}.rejected.csv`));
  }
  await moveIfThere(row.work_path, join(dest, row.name));
  await ctx.journal.settle(row.id);
  await sweepTemporaries(dirs(folder.path).work);
}

/** The atomic writer's temporary names (src/files/atomic.ts): `.<name>.<pid>.<8 hex>.tmp`. */
const TEMPORARY = /^\..*\.(\d+)\.[0-9a-f]{8}\.tmp$/;

/**
 * Removes the temporary files a killed process left in work/ (a SIGKILL
 * during a build): those of another process id. The journal's lock makes
 * this process the only writer of its folders, so they belong to no live
 * input. Run at start and when an input settles.
 */
export async function sweepTemporaries(workDir: string): Promise<number> {
  let removed = 0;
  for (const n of await readdir(workDir).catch(() => [] as string[])) {
    const pid = TEMPORARY.exec(n)?.[1];
    if (pid === undefined || Number(pid) === process.pid) continue;
    await rm(join(workDir, n), { force: true });
    removed++;
  }
  return removed;
}

/**
 * A writer that appended to the export after its trigger went up: those rows
 * were not sent. It cannot be undone, so it is said loudly: an error file
 * next to the export in sent/, an error in the log, and the `failed` hook.
 */
async function saySentPartly(ctx: StepContext, row: InputRow, dest: string): Promise<void> {
  const size = (await stat(row.work_path).catch(() => undefined))?.size;
  if (size === undefined || size <= row.size) return;
  const text = `${row.name} (input #${row.id}) grew from ${row.size} to ${size} bytes after it was sent: the rows written after that were NOT sent. Drop them again as a new export (write exports under a temporary name, or use doneMarker, so that they are taken complete).\n`;
  await writeFileAtomic(join(dest, `${row.name}.error.txt`), text);
  ctx.logger.error({ input: row.id, name: printable(row.name), sent: row.size, now: size }, 'rows appended after the export was sent were not sent');
  await inputHook(ctx, 'failed', row, text.trim());
}
