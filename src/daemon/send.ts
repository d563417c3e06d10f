/**
 * Send: `built` → `sent`. Each trigger file of the input goes up with the
 * handshake (documents first, once per input), at most `rate` a second.
 * The trigger's `renaming` state is committed just before its rename is
 * sent and never steps back: after a fault it is resolved only by a look at
 * the server (`resolveRename`), so a trigger is never uploaded twice.
 */
import { lstat, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DropFolderConfig } from '../config/config.js';
import { referencedDocuments } from '../files/documents.js';
import { readTriggerHead } from '../files/read-trigger.js';
import { attemptTag, sendTrigger, temporaryName } from '../transport/handshake.js';
import type { Session } from '../transport/session.js';
import { remoteJoin, TransportError } from '../transport/transport.js';
import { exists, printable, type StepContext } from './context.js';
import type { InputRow, TriggerRow } from '../store/journal.js';
import { failInput, settleFiles } from './settle.js';

/** Uploads every trigger of an input not yet uploaded; true when something moved on. */
export async function sendInput(ctx: StepContext, row: InputRow): Promise<boolean> {
  const folder = ctx.folderOf(row.folder);
  if (!folder) return false;
  const { session, root } = await ctx.link.open();
  const { documents: dropped, pending } = await droppedDocuments(ctx, row, folder);
  // A document it names is still in the drop folder, not yet taken: the trigger waits for it.
  if (pending.length) {
    ctx.logger.info({ input: row.id, waitingFor: pending }, 'waiting for documents dropped with the trigger');
    return false;
  }
  const unsent = await ctx.journal.triggersOf(row.id);
  if (unsent.every((t) => t.state === 'built')) {
    // Nothing sent yet: the export must still be what was built (a writer appending after the build would be cut off in silence).
    const size = (await stat(row.work_path).catch(() => undefined))?.size;
    if (size !== undefined && size !== row.size) {
      for (const t of unsent) await ctx.journal.setTrigger(t.id, 'failed', { error: 'the export changed after it was built' });
      await failInput(ctx, folder, row, [
        {
          code: 'E_EXPORT',
          severity: 'error',
          message: `the file grew from ${row.size} to ${size} bytes after its trigger was built: nothing was sent (the trigger would hold only part of it). Drop the whole export again once it is complete (write it under a temporary name, or use doneMarker)`,
        },
      ]);
      return true;
    }
  }
  // A document dropped with it and replaced by a link (or a folder) in work/ since it was taken is never read, nor sent.
  if (!row.documents_sent)
    for (const d of dropped)
      if (!(await lstat(d.work_path).catch(() => undefined))?.isFile()) {
        for (const t of await ctx.journal.triggersOf(row.id))
          if (t.state === 'built' || t.state === 'uploading') await ctx.journal.setTrigger(t.id, 'failed', { error: 'a document is not a regular file' });
        await failInput(ctx, folder, row, [
          {
            code: 'E_DOCUMENT_MISSING',
            severity: 'error',
            message: `the document ${printable(d.name)} in work/ is no longer a regular file (a link or a folder was put in its place): not read, nothing sent`,
          },
        ]);
        return true;
      }
  let documents = row.documents_sent ? [] : [...folder.documents, ...dropped.map((d) => ({ path: d.work_path, name: d.name }))];
  for (const t of await ctx.journal.triggersOf(row.id)) {
    if (ctx.stopping()) return false;
    if (t.state === 'renaming') {
      const verdict = await resolveRename(session, root, t);
      if (verdict !== 'uploaded') {
        await ctx.journal.setTrigger(t.id, 'failed', { error: verdict });
        await failInput(ctx, folder, row, [{ code: 'E_EXPORT', severity: 'error', message: verdict }]);
        return true;
      }
      await ctx.journal.setTrigger(t.id, 'uploaded');
      continue;
    }
    if (t.state !== 'built' && t.state !== 'uploading') continue;
    const wait = ctx.pace.lastUpload + 1000 / ctx.d.rate - Date.now();
    if (wait > 0) await sleep(wait);
    // An earlier attempt cut short (a crash, a fault, a leader deposed in the middle) left its temporary files: removed
    // first. Its tag is journaled before it wrote anything, so nothing of another client's is touched.
    if (t.state === 'uploading') await removeTemporaries(session, root, t, documents);
    const writer = ctx.journal.writer();
    const attempt = attemptTag(writer.node ?? undefined, writer.epoch);
    // The tag is journaled before the first byte is written, so that a later attempt, here or on another node, finds it.
    await ctx.journal.setTrigger(t.id, 'uploading', { attempt });
    const started = performance.now();
    try {
      await sendTrigger(
        session,
        { trigger: t.local_path, remoteName: t.remote_name, documents },
        {
          remoteRoot: root,
          attempt,
          timeouts: ctx.config.timeouts,
          logger: ctx.logger,
          onStep: async (s) => {
            if (s.step === 'documents-taken') await ctx.journal.setDocumentsSent(row.id);
          },
          beforeTriggerRename: async () => {
            await ctx.journal.setTrigger(t.id, 'renaming');
          },
        },
      );
    } catch (e) {
      const state = (await ctx.journal.trigger(t.id))!.state;
      if (e instanceof TransportError && !e.transient) {
        await ctx.journal.setTrigger(t.id, 'failed', { error: e.message });
        await failInput(ctx, folder, row, [{ code: 'E_EXPORT', severity: 'error', message: `not sent: ${e.message}` }]);
        return true;
      }
      // `renaming` stays: the rename may have happened; the next pass looks at the server.
      await ctx.journal.setTrigger(t.id, state, { error: (e as Error).message });
      throw e;
    }
    ctx.pace.lastUpload = Date.now();
    ctx.metrics.uploaded((await stat(t.local_path).catch(() => ({ size: 0 }))).size, (performance.now() - started) / 1000);
    documents = [];
    await ctx.journal.setTrigger(t.id, 'uploaded');
  }
  const triggers = await ctx.journal.triggersOf(row.id);
  if (triggers.some((t) => t.state === 'built' || t.state === 'uploading' || t.state === 'renaming')) return false;
  // The documents dropped with it are done with it, in the same transaction.
  await ctx.journal.tx(async () => {
    await ctx.journal.setInput(row.id, 'sent');
    for (const d of dropped) await ctx.journal.setInput(d.id, 'done');
    await ctx.hooks.enqueue({
      event: 'sent',
      input: { id: row.id, folder: row.folder, name: row.name },
      triggers: triggers.map((t) => ({ remoteName: t.remote_name, contacts: t.contacts, state: t.state })),
      ...(row.rejected ? { rejected: row.rejected } : {}),
    });
  });
  for (const d of dropped) await settleFiles(ctx, (await ctx.journal.input(d.id))!);
  ctx.events.onEvent?.({ type: 'sent', input: row.id, name: row.name, detail: triggers.map((t) => t.remote_name).join(', ') });
  return true;
}

/**
 * Documents dropped in the input's folder that its trigger names: those
 * waiting in work/, and those still in the drop folder (not yet taken).
 */
async function droppedDocuments(ctx: StepContext, row: InputRow, folder: DropFolderConfig): Promise<{ documents: InputRow[]; pending: string[] }> {
  const [first] = await ctx.journal.triggersOf(row.id);
  if (!first) return { documents: [], pending: [] };
  const names = new Set(referencedDocuments((await readTriggerHead(first.local_path)).command).map((r) => r.name));
  if (names.size === 0) return { documents: [], pending: [] };
  const documents = (await ctx.journal.inputsIn('working')).filter((d) => d.kind === 'document' && d.folder === row.folder && names.has(d.name));
  const configured = new Set(folder.documents.map((d) => basename(d)));
  const pending: string[] = [];
  for (const n of names) {
    if (configured.has(n) || documents.some((d) => d.name === n)) continue;
    if (await exists(join(folder.path, n))) pending.push(n);
  }
  return { documents, pending };
}

/**
 * A trigger whose rename may have been sent (a crash, or a fault that
 * outlasted the retries): the server says what happened. Temporary name
 * gone: the rename happened (the file is in in/ or further, or already
 * archived) → `uploaded`. Still there and complete, final name free: rename
 * it now. Anything else is said, never uploaded blindly.
 */
export async function resolveRename(session: Session, root: string, t: TriggerRow): Promise<'uploaded' | string> {
  const inDir = remoteJoin(root, 'in');
  const temp = remoteJoin(inDir, temporaryName(t.remote_name, t.attempt));
  const final = remoteJoin(inDir, t.remote_name);
  const size = (await stat(t.local_path)).size;
  return session.run(`resume ${t.remote_name}`, async (tr) => {
    const atTemp = await tr.stat(temp);
    if (!atTemp) return 'uploaded';
    if (await tr.stat(final)) return `both ${temp} and ${final} exist on the server: not sent again; check in/ and resend if needed`;
    if (atTemp.size !== size) return `${temp} is ${atTemp.size} bytes on the server where ${size} were sent and checked: not renamed; remove it and resend`;
    await tr.rename(temp, final);
    return 'uploaded';
  });
}

/**
 * Removes what an earlier attempt at a trigger may have left on the server:
 * its temporary files (the trigger's, and the documents' sent with it), by
 * the tag the journal holds for that attempt. A file that is not there is
 * fine; a journal older than tags names the plain `<name>.uploading`.
 */
async function removeTemporaries(
  session: Session,
  root: string,
  t: TriggerRow,
  documents: readonly (string | { readonly path: string; readonly name: string })[],
): Promise<void> {
  const inDir = remoteJoin(root, 'in');
  const names = [t.remote_name, ...documents.map((d) => (typeof d === 'string' ? basename(d) : d.name))].map((n) => temporaryName(n, t.attempt));
  await session.run(`remove the temporary files of an earlier attempt at ${t.remote_name}`, async (tr) => {
    const present = await tr.statSiblings(inDir, names);
    for (const [i, n] of names.entries()) if (present[i]) await tr.remove(remoteJoin(inDir, n));
  });
}
