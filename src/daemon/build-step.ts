/**
 * Build: `working` → `built`. An export becomes trigger file(s) with the
 * folder's command (and the export's sidecar); a complete trigger file is
 * validated and sent as it is (re-encoded when undeclared UTF-8). Remote
 * names are fixed here, from the content and the input's time, so they are
 * the same after any restart.
 */
import { copyFile, lstat, readFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { writeFileAtomic } from '../files/atomic.js';
import type { DropFolderConfig } from '../config/config.js';
import { buildTriggerFiles, type BuildResult } from '../files/build.js';
import { convertTriggerFile } from '../files/convert.js';
import { openTriggerFile, validateTriggerFile } from '../files/read-trigger.js';
import { parseCommandFile } from '../formats/command-file.js';
import type { ContactColumn } from '../formats/contacts.js';
import { addressKey } from '../formats/address.js';
import { FindingList, TriggerFormatError, type Finding } from '../formats/findings.js';
import type { TriggerCommand } from '../formats/model.js';
import { fillBroadcastName } from '../formats/paris-time.js';
import { fileHash, uniqueRemoteName } from '../transport/handshake.js';
import { NotRegularFileError, readRegularFile } from '../files/no-follow.js';
import { dirs, printable, type StepContext } from './context.js';
import type { InputRow } from '../store/journal.js';
import { failInput, settleFiles } from './settle.js';
import { sidecarsBeside } from './sidecar.js';

/** The folder's command merged with the input's sidecar, `{date}`, `{time}`, `{file}` filled in. */
export async function commandFor(folder: DropFolderConfig, row: InputRow): Promise<TriggerCommand> {
  const base = parseCommandFile(await readFile(folder.command, 'utf8'), folder.command);
  const prefix = basename(row.work_path).slice(0, -row.name.length);
  const sidecars = (await sidecarsBeside(row.work_path, prefix)).map((n) => n.slice(prefix.length));
  if (sidecars.length > 1) {
    const message = `${sidecars.length} command files were dropped for ${row.name} (${sidecars.join(', ')}): nothing is sent with a text chosen between them; keep one and drop the export again`;
    throw new TriggerFormatError('INVALID_COMMAND_FILE', message, [{ code: 'E_COMMAND_FILE', severity: 'error', message }], folder.command);
  }
  const sidecarName = sidecars[0];
  const sidecar = sidecarName ? join(dirname(row.work_path), `${prefix}${sidecarName}`) : undefined;
  // Never through a link: the sidecar comes from whoever writes the drop folder.
  const over = sidecar
    ? await readRegularFile(sidecar, `the sidecar ${sidecarName}`).then(
        (t) => {
          try {
            return parseCommandFile(t, sidecarName!);
          } catch (e) {
            // Its errors name the sidecar, as the user named it, with their lines.
            if (e instanceof TriggerFormatError)
              throw new TriggerFormatError(
                e.code,
                e.message,
                e.findings.map((f) => ({ ...f, message: `${sidecarName}${f.line !== undefined ? ` line ${f.line}` : ''}: ${f.message}` })),
                sidecarName,
              );
            throw e;
          }
        },
        (e: NodeJS.ErrnoException) => {
          if (e.code === 'ENOENT') return undefined;
          throw e;
        },
      )
    : undefined;
  const merged = { ...base, ...(over ?? {}) } as TriggerCommand;
  if (typeof merged.broadcastName !== 'string') {
    const message = `${folder.command}${over ? ` (with ${sidecarName})` : ''} has no broadcastName: add one (it may hold {file}, {date}, {time}, {count})`;
    throw new TriggerFormatError('INVALID_COMMAND_FILE', message, [{ code: 'E_REQUIRED', severity: 'error', field: 'broadcastName', message }], folder.command);
  }
  // {count} (contacts) is replaced by the builder, once the contacts are counted.
  return { ...merged, broadcastName: fillBroadcastName(merged.broadcastName, new Date(row.created_at), basename(row.name, extname(row.name))) };
}

/** A trigger for another service than the configured one: the platform would refuse it. */
export function otherService(ctx: StepContext, serviceId: string | undefined): Finding {
  return {
    code: 'E_REQUIRED',
    severity: 'error',
    message: `serviceId ${serviceId} is not the configured service ${ctx.config.service.serviceId}`,
    field: 'serviceId',
  };
}

/**
 * What links a built trigger to its broadcast once statuses or reports name
 * it: the EXTERNALREFERENCE values, and each contact's addresses as
 * `@<normalized address>` (for exports without a reference).
 */
export async function refsOf(path: string): Promise<string[]> {
  const reading = await openTriggerFile(path, new FindingList(0));
  try {
    const cols = reading.head.columns;
    const i = cols.indexOf('EXTERNALREFERENCE');
    const addressCols = cols.flatMap((c, k) => {
      const n = /^PHONENUMBER(\d)$/.exec(c)?.[1];
      if (n) return [{ k, cc: cols.indexOf(`COUNTRYCODE${n}` as ContactColumn) }];
      if (c === 'FAXNUMBER') return [{ k, cc: cols.indexOf('FAXCOUNTRYCODE') }];
      return c === 'EMAIL1' ? [{ k, cc: -1 }] : [];
    });
    const refs: string[] = [];
    for await (const c of reading.contacts) {
      const v = i >= 0 ? c.values[i]?.trim() : undefined;
      if (v) refs.push(v);
      for (const a of addressCols) {
        const key = addressKey(c.values[a.k] ?? '', a.cc >= 0 ? c.values[a.cc] : undefined);
        if (key) refs.push(`@${key}`);
      }
    }
    return refs;
  } finally {
    await reading.close();
  }
}

/** The parts as the journal records them: each with its remote name and its contacts' references. */
export async function namedParts(
  stem: string,
  parts: readonly { path: string; contacts: number }[],
  created: Date,
): Promise<{ localPath: string; contacts: number; remoteName: string; refs: string[] }[]> {
  const named = [];
  for (const [k, p] of parts.entries()) {
    const local = `${stem}${parts.length > 1 ? `-${String(k + 1).padStart(3, '0')}` : ''}${extname(p.path)}`;
    named.push({ localPath: p.path, contacts: p.contacts, remoteName: uniqueRemoteName(local, await fileHash(p.path), created), refs: await refsOf(p.path) });
  }
  return named;
}

/** Builds one input alone; a format error fails it (error file), anything else is thrown for the caller to count. */
export async function buildInput(ctx: StepContext, folder: DropFolderConfig, row: InputRow): Promise<boolean> {
  if (await stillChanging(ctx, row)) return false;
  await build(ctx, folder, row);
  return true;
}

/**
 * A writer may still be appending after the file was taken (it paused
 * longer than stableSeconds; the moved file keeps its inode, so the rows
 * land in work/). Such a file is built only once it has not changed for
 * stableSeconds; never built from a part of it in silence.
 */
export async function stillChanging(ctx: StepContext, row: InputRow): Promise<boolean> {
  const st = await lstat(row.work_path);
  if (!st.isFile()) return false; // build() refuses it without reading it
  if (st.size !== row.size) {
    await ctx.journal.noteChanged(row.id, st.size, await fileHash(row.work_path));
    ctx.logger.warn(
      { input: row.id, name: printable(row.name), was: row.size, now: st.size },
      'the file changed after it was taken (a writer still at work?): waiting until it is stable',
    );
    return true;
  }
  return row.changed_at !== null && ctx.now().getTime() - new Date(row.changed_at).getTime() < ctx.d.stableSeconds * 1000;
}

async function build(ctx: StepContext, folder: DropFolderConfig, row: InputRow): Promise<void> {
  const out = `${row.work_path}.trigger.${row.kind === 'trigger' ? extname(row.name).slice(1).toLowerCase() || 'csv' : folder.format}`;
  let parts: { path: string; contacts: number }[];
  let serviceId: string | undefined;
  let notes: Awaited<ReturnType<typeof noteWarnings>>;
  // Taken as a regular file; a link or a folder put in its place since (work/ is inside the drop folder) is never read.
  if (!(await lstat(row.work_path)).isFile())
    return failInput(ctx, folder, row, [
      {
        code: 'E_EXPORT',
        severity: 'error',
        message: `${printable(row.name)} in work/ is no longer a regular file (a link or a folder was put in its place): not read (links are never followed)`,
      },
    ]);
  try {
    if (row.kind === 'trigger') {
      const v = await validateTriggerFile(row.work_path, { documentsDir: dirs(folder.path).work });
      const errors = v.errors.filter((e) => e.code !== 'E_DOCUMENT_MISSING');
      if (errors.length) return await failInput(ctx, folder, row, errors);
      if (v.warnings.some((w) => w.code === 'W_UNDECLARED_UTF8')) {
        const c = await convertTriggerFile(row.work_path, { to: v.format, out });
        if (!c.ok)
          return await failInput(
            ctx,
            folder,
            row,
            c.findings.filter((f) => f.severity === 'error'),
          );
      } else {
        await copyFile(row.work_path, out);
      }
      parts = [{ path: out, contacts: v.contacts }];
      serviceId = v.command.serviceId;
    } else {
      const cmd = await commandFor(folder, row);
      serviceId = cmd.serviceId;
      const r = await buildTriggerFiles(cmd, row.work_path, {
        out,
        format: folder.format,
        ...(folder.split !== undefined ? { split: folder.split } : {}),
        ...(folder.rejectBadRows
          ? { rejectRows: { out: `${row.work_path}.rejected.csv`, ...(folder.maxRejected !== undefined ? { max: folder.maxRejected } : {}) } }
          : {}),
        export: { map: folder.map as Partial<Record<ContactColumn, string>>, name: row.name },
      });
      if (!r.ok) {
        const errors = r.findings.filter((f) => f.severity === 'error');
        // A header-only export (a quiet night): its own outcome, not a failure blamed on the command file.
        if (isEmptyExport(r)) return await emptyExport(ctx, folder, row);
        return await failInput(ctx, folder, row, errors);
      }
      notes = await noteWarnings(ctx, row, r);
      parts = r.files.map((f) => ({ path: f.path, contacts: f.contacts }));
    }
  } catch (e) {
    if (e instanceof TriggerFormatError) return failInput(ctx, folder, row, [...e.findings]);
    if (e instanceof NotRegularFileError) return failInput(ctx, folder, row, [{ code: 'E_COMMAND_FILE', severity: 'error', message: e.message }]);
    throw e;
  }
  if (serviceId !== ctx.config.service.serviceId) return failInput(ctx, folder, row, [otherService(ctx, serviceId)]);
  const named = await namedParts(basename(row.name, extname(row.name)), parts, new Date(row.created_at));
  await ctx.journal.tx(async () => {
    if (notes) await ctx.journal.recordBuildNotes(row.id, notes.rejected, notes.warnings);
    await ctx.journal.addTriggers(row.id, named);
  });
  ctx.events.onEvent?.({ type: 'built', input: row.id, name: row.name, detail: `${parts.length} file(s)` });
}

/** The build found nothing to send: no contact row at all, and no other error. */
function isEmptyExport(r: BuildResult): boolean {
  const errors = r.findings.filter((f) => f.severity === 'error');
  return r.contacts === 0 && r.rejected === 0 && errors.length > 0 && errors.every((f) => f.code === 'E_NO_CONTACTS');
}

/**
 * An export with a header and no rows: nothing is sent. By default it is
 * settled in sent/ (done, no trigger, no failure alert), with a line in the
 * log; `emptyExport: failed` sends it to failed/ instead.
 */
async function emptyExport(ctx: StepContext, folder: DropFolderConfig, row: InputRow): Promise<void> {
  const why = `${row.name} holds a header and no contact: nothing to send`;
  if (folder.emptyExport === 'failed')
    return failInput(ctx, folder, row, [{ code: 'E_NO_CONTACTS', severity: 'error', message: `${why} (emptyExport: failed)`, source: 'export' }]);
  ctx.logger.info({ input: row.id, name: printable(row.name) }, `${printable(why)}; moved to sent/ (emptyExport: sent)`);
  await ctx.journal.tx(async () => {
    await ctx.journal.recordBuildNotes(row.id, [], why);
    await ctx.journal.setInput(row.id, 'done');
  });
  await settleFiles(ctx, (await ctx.journal.input(row.id))!);
  ctx.events.onEvent?.({ type: 'empty', input: row.id, name: row.name, detail: why });
}

/**
 * What the build changed or left out without refusing the export is never
 * silent: `<export>.warnings.txt` beside it (to sent/ or failed/ with it),
 * the log, the journal (status, console).
 */
async function noteWarnings(
  ctx: StepContext,
  row: InputRow,
  r: BuildResult,
): Promise<{ rejected: readonly { line: number; reason: string }[]; warnings: string | undefined } | undefined> {
  const warnings = r.findings.filter((f) => f.severity === 'warning');
  if (!warnings.length && !r.rejected) return undefined;
  const lines = warnings.map((w) => `${w.line !== undefined ? `line ${w.line}: ` : ''}${w.code}${w.field ? ` [${w.field}]` : ''}: ${w.message}`);
  const head = r.rejected ? [`${r.rejected} row(s) left out (partial acceptance), in failed/${row.name}.rejected.csv with the line and reason of each`] : [];
  const text = [...head, ...lines].join('\n');
  await writeFileAtomic(`${row.work_path}.warnings.txt`, `${row.name} (input #${row.id}):\n${text}\n`);
  ctx.logger.warn(
    { input: row.id, name: printable(row.name), rejected: r.rejected, warnings: warnings.length },
    printable(`${row.name}: ${[...head, ...lines].slice(0, 3).join('; ')}`),
  );
  return { rejected: r.rejectedRows ?? [], warnings: text };
}
