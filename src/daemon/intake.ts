/**
 * Intake: a complete file in a drop folder is journaled (its work path
 * fixed before the move), refused if it is a duplicate, then moved to
 * work/. The watcher calls `take`; the worker resumes `seen` rows.
 */
import { lstat, mkdir, open, readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { writeFileAtomic } from '../files/atomic.js';
import type { DropFolderConfig } from '../config/config.js';
import { isDocumentName } from '../formats/document-types.js';
import { fileHash } from '../transport/handshake.js';
import { dirs, exists, moveIfThere, printable, type StepContext } from './context.js';
import type { InputRow } from '../store/journal.js';
import { finish, refuseDuplicate, settleFiles } from './settle.js';
import { exportsFor, sidecarBelongsTo, sidecarsBeside } from './sidecar.js';
import { ignoredName } from './watcher.js';

/** Journals a complete file (duplicate or not), then moves it to work/. */
/** True when the file was taken (or refused as a duplicate); false when it waits in the drop folder for the worker to move it. */
export async function take(ctx: StepContext, folder: DropFolderConfig, path: string, forget: (path: string) => void): Promise<boolean> {
  const st = await lstat(path);
  // Checked again here: the name may have been replaced by a link since the watcher looked.
  if (!st.isFile()) throw new Error(`${printable(path)} is not a regular file (a link or a folder): not taken`);
  const hash = await fileHash(path);
  const name = basename(path);
  const kind = await kindOf(path);
  // Journaled by a run stopped between the two steps (recorded, not yet moved): this very file, moved under its row. Taken
  // anew, it would be refused as a duplicate of itself, and its row would then fail with its file gone.
  const pending = await ctx.journal.seenAt(folder.path, name);
  if (pending) {
    if (pending.hash !== hash) await ctx.journal.noteChanged(pending.id, st.size, hash);
    await moveToWork(ctx, folder, pending, forget);
    ctx.wake();
    return true;
  }
  const earlier =
    kind === 'document' || folder.allowDuplicates || (await ctx.journal.takeResend(folder.path, hash))
      ? undefined
      : await ctx.journal.findByHash(folder.path, hash);
  if (earlier) {
    const why = `same content as ${earlier.name} (input #${earlier.id}, ${earlier.state}), taken ${earlier.created_at}: not sent twice. To send it again: dmc-trigger resend ${earlier.id} --force, or set allowDuplicates: true for this folder.`;
    const row = await ctx.journal.tx(async () => {
      const r = await ctx.journal.addInput({
        folder: folder.path,
        name,
        hash,
        size: st.size,
        kind,
        workDir: dirs(folder.path).work,
        state: 'duplicate',
        duplicateOf: earlier.id,
      });
      await ctx.journal.recordError(r.id, why);
      return (await ctx.journal.input(r.id))!;
    });
    await refuseDuplicate(ctx, folder, row);
    forget(path);
    ctx.events.onEvent?.({ type: 'duplicate', input: row.id, name });
    return true;
  }
  const row = await ctx.journal.addInput({ folder: folder.path, name, hash, size: st.size, kind, workDir: dirs(folder.path).work });
  try {
    await moveToWork(ctx, folder, row, forget);
  } catch (e) {
    // Journaled as `seen`: the worker retries the move; status shows why it waits.
    await ctx.journal.recordIntakeError(path, `cannot move it to work/: ${(e as Error).message}`);
    ctx.logger.error({ file: printable(path), err: (e as Error).message }, 'cannot move the file to work/; trying again');
    return false;
  }
  ctx.events.onEvent?.({ type: 'taken', input: row.id, name });
  ctx.wake();
  return true;
}

/** A trigger (XML, or CSV starting with #COMMAND), a document (by its type), or an SI export. */
async function kindOf(path: string): Promise<InputRow['kind']> {
  if (/\.xml$/i.test(path)) return 'trigger';
  if (isDocumentName(path)) return 'document';
  // The first bytes tell a complete trigger (#COMMAND) from an export: never read the whole file for that.
  const fh = await open(path, 'r');
  try {
    const b = Buffer.alloc(64);
    const { bytesRead } = await fh.read(b, 0, 64, 0);
    return b
      .subarray(0, bytesRead)
      .toString('latin1')
      .replace(/^\xEF\xBB\xBF/, '')
      .trimStart()
      .toUpperCase()
      .startsWith('#COMMAND')
      ? 'trigger'
      : 'export';
  } finally {
    await fh.close();
  }
}

/** `seen` → `working`: the file (and its sidecar, its marker) from the drop folder to work/. */
export async function moveToWork(ctx: StepContext, folder: DropFolderConfig, row: InputRow, forget: (path: string) => void): Promise<void> {
  const src = join(folder.path, row.name);
  await mkdir(dirname(row.work_path), { recursive: true });
  // The sidecars first: the drop folder never shows a sidecar without its export while the export is taken (it would be an orphan).
  const prefix = basename(row.work_path).slice(0, -row.name.length);
  for (const s of await sidecarsBeside(src)) await moveIfThere(join(folder.path, s), join(dirname(row.work_path), `${prefix}${s}`));
  const moved = await moveIfThere(src, row.work_path);
  if (!moved && !(await exists(row.work_path))) {
    await finish(ctx, row, 'failed', 'failed', 'the file vanished from the drop folder before it was taken');
    await ctx.journal.settle(row.id);
    return;
  }
  await moveIfThere(`${src}.done`, `${row.work_path}.done`);
  forget(src);
  await ctx.journal.setInput(row.id, 'working');
}

/**
 * A sidecar with no export waiting in its folder: it is refused (never left
 * in the folder for ever, never applied to a later export by chance). It is
 * journaled as a failed input of kind `command`, so that the log, `status`,
 * the console and the `failed` hook all say it, with the fix; the file goes
 * to failed/ with `<name>.error.txt`.
 */
export async function refuseSidecar(ctx: StepContext, folder: DropFolderConfig, path: string): Promise<void> {
  const st = await lstat(path).catch(() => undefined);
  if (!st) return; // taken with its export meanwhile
  // An export that came meanwhile takes it: look again.
  const names = await readdir(folder.path);
  const name = basename(path);
  if (
    exportsFor(
      name,
      names.filter((n) => !ignoredName(n)),
    ).length
  )
    return;
  const taken = await ctx.journal.lastInputWhere(folder.path, (n) => sidecarBelongsTo(name, n));
  const why =
    taken && new Date(taken.created_at).getTime() <= st.mtimeMs
      ? `${name} arrived after ${taken.name} was taken (input #${taken.id}, ${taken.created_at}): it was NOT applied; ${taken.name} went with the folder's command (${basename(folder.command)}). Drop a command file before its export, or with it within stableSeconds (with doneMarker: true, before the .done marker). To send the export again with it: put both back and run dmc-trigger resend ${taken.id} --force.`
      : `${name} is a command file for an export that is not in the folder: it was applied to nothing. It is named after its export, <export>.command.yaml or <export without its extension>.command.yaml (promo.csv.command.yaml or promo.command.yaml for promo.csv), and dropped before or with it.`;
  // Never read through a link: its hash is that of its name then.
  const hash = st.isFile() ? await fileHash(path) : `link:${name}`;
  const row = await ctx.journal.tx(async () => {
    const r = await ctx.journal.addInput({ folder: folder.path, name, hash, size: st.size, kind: 'command', workDir: dirs(folder.path).work });
    await finish(ctx, r, 'failed', 'failed', why);
    return (await ctx.journal.input(r.id))!;
  });
  ctx.logger.error({ input: row.id, file: printable(path) }, printable(why));
  // The file leaves the drop folder first: its error file, written last, says it is settled.
  await settleFiles(ctx, row);
  await writeFileAtomic(join(dirs(folder.path).failed, `${name}.error.txt`), `${name} (input #${row.id}): ${why}\n`);
  ctx.events.onEvent?.({ type: 'failed', input: row.id, name, detail: why });
}
