/**
 * Builds trigger files from a command and an SI export: the file adapter
 * around the pure encoder. All parts are written under temporary names and
 * renamed only when every part is complete and no error was found.
 *
 * Split (issue #2): above the limit, several complete trigger files of at
 * most N contacts, named `<base>-001.csv`, `<base>-002.csv`..., broadcast
 * names suffixed ` (1/3)`, ` (2/3)`... The export is read once: each part's
 * contacts are encoded into a temporary body file, and once the part count
 * is known each file is written as head (with its `(i/n)` name) + body +
 * tail. Memory stays flat; the disk holds the output twice for a moment.
 */
import { createReadStream, type ReadStream } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { MAX_CONTACTS, type ContactColumn } from '../formats/contacts.js';
import iconv from 'iconv-lite';
import { finding, FindingList, type Finding } from '../formats/findings.js';
import type { TriggerCommand } from '../formats/model.js';
import { readRecords, readSiExport, type ContactRecord, type ExportOptions, type ExportReading } from '../formats/si-export.js';
import { TriggerEncoder, type EncodeOptions, type EncodeStats, type RejectedRow, type RowBatches, type SourcedRow } from '../formats/trigger-encoder.js';
import { PendingFile } from './atomic.js';
import { closeStream } from './streams.js';

export interface BuildOptions extends EncodeOptions {
  /** Output path; with a split, the base of the part names. */
  readonly out: string;
  /** Contacts per part; absent: no split (more than 100,000 contacts is an error). */
  readonly split?: number;
  /** How to read the SI export. */
  readonly export?: ExportOptions;
  /** Contacts as objects instead of an export file (see readRecords); `export.map` applies. */
  readonly records?: Iterable<ContactRecord> | AsyncIterable<ContactRecord>;
  /** Called every 10,000 contacts with the count so far. */
  readonly onProgress?: (contacts: number) => void;
  /** Findings kept per severity (default 100). */
  readonly findingCap?: number;
  /**
   * Partial acceptance: contacts with errors of their own are left out and
   * written to `rejected.out` (the export's fields, encoding and delimiter,
   * plus `dmc_line` and `dmc_reason`); the others are sent. Above `max`
   * rejected rows (a count, or `'5%'` of the rows) the whole export is
   * refused anyway. Default: absent, one bad row refuses the export.
   */
  readonly rejectRows?: { readonly out: string; readonly max?: number | string };
}

export interface BuiltFile {
  readonly path: string;
  readonly contacts: number;
  readonly bytes: number;
  readonly broadcastName: string;
}

export interface BuildResult {
  readonly ok: boolean;
  /** Files written (none when `ok` is false). */
  readonly files: BuiltFile[];
  readonly contacts: number;
  readonly findings: Finding[];
  readonly errors: number;
  readonly warnings: number;
  /** Rows left out under partial acceptance (0 without it). */
  readonly rejected: number;
  /** Where they were written (only when some were and the build succeeded). */
  readonly rejectedFile?: string;
  /** The line and first reason of each, as written there. */
  readonly rejectedRows?: readonly { line: number; reason: string }[];
  /** What was detected about the export. */
  readonly export?: Pick<ExportReading, 'format' | 'encoding' | 'encodingReason' | 'delimiter' | 'columns' | 'mapping'>;
}

const MAX_NAME = 255;

/** `base` + ` (i/n)`, cut so that the whole fits broadcastName's 255 characters. */
export function partBroadcastName(base: string, i: number, n: number): string {
  const suffix = ` (${i}/${n})`;
  return base.length + suffix.length > MAX_NAME ? base.slice(0, MAX_NAME - suffix.length) + suffix : base + suffix;
}

/** `out/campagne.csv`, part 2 of 12 → `out/campagne-002.csv`. */
export function partPath(out: string, i: number, n: number): string {
  const ext = extname(out);
  const digits = Math.max(3, String(n).length);
  return join(dirname(out), `${basename(out, ext)}-${String(i).padStart(digits, '0')}${ext}`);
}

/** Opens an export; its stream goes to `opened`, for the caller to close whatever happens (an early refusal reads only the first bytes). */
function openExport(path: string, findings: FindingList, opts: ExportOptions | undefined, opened: ReadStream[]): Promise<ExportReading> {
  // 64 KiB chunks: a batch of rows per chunk stays small (measured: faster, and a flat 130 MB for a 1,000,000-row split).
  const stream = createReadStream(path, { highWaterMark: 64 * 1024 });
  opened.push(stream);
  return readSiExport(stream, findings, { name: path, ...opts });
}

/**
 * Builds the trigger file(s). Content problems are findings in the result
 * (`ok: false`, nothing written); I/O failures throw.
 */
export async function buildTriggerFiles(
  command: TriggerCommand,
  contactsPath: string | readonly string[] | undefined,
  opts: BuildOptions,
): Promise<BuildResult> {
  const findings = new FindingList(opts.findingCap ?? 100);
  // Several exports (the daemon's groups) make one contact list: they must map to the same columns.
  const paths = contactsPath === undefined ? [] : typeof contactsPath === 'string' ? [contactsPath] : [...contactsPath];
  const readings: ExportReading[] = [];
  const opened: ReadStream[] = [];
  try {
    for (const p of paths) readings.push(await openExport(p, findings.scoped('export'), opts.export, opened));
    if (opts.records) readings.push(await readRecords(opts.records, findings.scoped('export'), opts.export?.map ? { map: opts.export.map } : {}));
    return await buildFrom(command, readings, paths, findings, opts);
  } finally {
    // Whoever opens a stream closes it: a refused export is not read to its end.
    await Promise.all(opened.map(closeStream));
  }
}

async function buildFrom(command: TriggerCommand, readings: ExportReading[], paths: string[], findings: FindingList, opts: BuildOptions): Promise<BuildResult> {
  const partSize = opts.split !== undefined ? Math.min(opts.split, MAX_CONTACTS) : undefined;
  const reading = readings[0];
  const columns: ContactColumn[] = reading?.columns ?? [];
  readings.slice(1).forEach((r, k) => {
    if (r.columns.join(';') !== columns.join(';'))
      findings.add({
        code: 'E_EXPORT',
        severity: 'error',
        message: `${paths[k + 1]} maps to ${r.columns.join(';')}, ${paths[0]} to ${columns.join(';')}: exports sent as one broadcast need the same columns`,
      });
  });
  const rejected: RejectedRow[] = [];
  const encoder = new TriggerEncoder(
    command,
    columns,
    { ...opts, maxContacts: partSize ?? opts.maxContacts ?? MAX_CONTACTS, ...(opts.rejectRows ? { onReject: (r: RejectedRow) => rejected.push(r) } : {}) },
    findings,
  );
  // Batches of rows (one await per batch), whatever the readers give.
  async function* batchesOf(r: ExportReading): AsyncGenerator<SourcedRow[]> {
    if (r.batches) {
      yield* r.batches;
      return;
    }
    let batch: SourcedRow[] = [];
    for await (const row of r.rows) {
      batch.push(row);
      if (batch.length >= 1000) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length) yield batch;
  }
  const source =
    readings.length === 0
      ? undefined
      : (async function* () {
          for (const r of readings) yield* batchesOf(r);
        })()[Symbol.asyncIterator]();
  const progress = opts.onProgress;
  let seen = 0;
  let exhausted = !source;
  // What a part did not take of the last batch: the next part starts with it.
  let rest: SourcedRow[] = [];

  /** At most `limit` rows, in batches; `exhausted` once the source ends. */
  async function* takeBatches(limit: number): AsyncGenerator<SourcedRow[]> {
    let n = 0;
    while (source && n < limit) {
      let batch: SourcedRow[];
      if (rest.length) {
        batch = rest;
        rest = [];
      } else {
        const r = await source.next();
        if (r.done) {
          exhausted = true;
          return;
        }
        batch = r.value;
      }
      if (n + batch.length > limit) {
        rest = batch.slice(limit - n);
        batch = batch.slice(0, limit - n);
      }
      const before = seen;
      n += batch.length;
      seen += batch.length;
      if (progress && Math.floor(seen / 10_000) > Math.floor(before / 10_000)) progress(Math.floor(seen / 10_000) * 10_000);
      yield batch;
    }
  }
  const take = (limit: number): RowBatches => ({ batches: takeBatches(limit) });

  const temps: PendingFile[] = [];
  const finals: PendingFile[] = [];
  try {
    const built: BuiltFile[] = [];
    // `{count}` in the broadcast name is known only after the contacts: heads are then written last, as for a split.
    const deferred = partSize !== undefined || (encoder.command.broadcastName ?? '').includes('{count}');
    if (!deferred) {
      const file = new PendingFile(opts.out);
      finals.push(file);
      const stats: EncodeStats = { contacts: 0, bytes: 0 };
      const head = encoder.head();
      const tail = encoder.tail();
      await file.write(concat(head, encoder.rows(take(Number.POSITIVE_INFINITY), stats), tail));
      built.push({ path: opts.out, contacts: stats.contacts, bytes: head.length + stats.bytes + tail.length, broadcastName: encoder.command.broadcastName });
    } else {
      // One pass: each part's contacts go to a body file; the heads are written once the part count is known.
      const parts: { body: PendingFile; stats: EncodeStats }[] = [];
      do {
        const body = new PendingFile(opts.out);
        temps.push(body);
        const stats: EncodeStats = { contacts: 0, bytes: 0 };
        await body.write(encoder.rows(take(partSize ?? Number.POSITIVE_INFINITY), stats));
        if (stats.contacts === 0 && parts.length > 0) break;
        parts.push({ body, stats });
      } while (!exhausted && partSize !== undefined);
      const n = parts.length;
      for (const [k, part] of parts.entries()) {
        const i = k + 1;
        const path = n > 1 ? partPath(opts.out, i, n) : opts.out;
        const base = (encoder.command.broadcastName ?? '').replace(/\{count\}/g, String(part.stats.contacts));
        const name = n > 1 ? partBroadcastName(base, i, n) : base;
        const head = encoder.head(name);
        const tail = encoder.tail();
        const file = new PendingFile(path);
        finals.push(file);
        await file.write(concat(head, createReadStream(part.body.tempPath), tail));
        built.push({ path, contacts: part.stats.contacts, bytes: head.length + part.stats.bytes + tail.length, broadcastName: name });
      }
    }
    encoder.finish(seen);
    // An export with a header and no rows: said of the export, not of the command file.
    const none = paths.length && seen === 0 ? findings.items.findIndex((f) => f.code === 'E_NO_CONTACTS') : -1;
    if (none >= 0)
      findings.items[none] = finding('E_NO_CONTACTS', `${paths.join(', ')} holds a header and no contact rows: nothing to build`, { source: 'export' });
    let rejectedFile: PendingFile | undefined;
    if (rejected.length) {
      const limit = rejectLimit(opts.rejectRows!.max, seen);
      const say = (f: Finding, r: RejectedRow): Finding => ({ ...f, line: r.line });
      if (rejected.length > limit) {
        findings.add(
          finding(
            'E_TOO_MANY_REJECTED',
            `${rejected.length} of ${seen} rows have errors, more than the ${opts.rejectRows!.max ?? DEFAULT_MAX_REJECTED} allowed (maxRejected): the whole export is refused; the first ones follow`,
            { source: 'export' },
          ),
        );
        for (const r of rejected) for (const f of r.errors) findings.add(say(f, r));
      } else {
        for (const r of rejected) findings.add(finding('W_ROW_REJECTED', `left out (partial acceptance): ${reasonOf(r)}`, { line: r.line, source: 'export' }));
        rejectedFile = new PendingFile(opts.rejectRows!.out);
        finals.push(rejectedFile);
        await rejectedFile.write(rejectedRowsFile(reading, columns, rejected));
      }
    }
    await Promise.all(temps.map((t) => t.discard()));
    if (findings.hasErrors) {
      await Promise.all(finals.map((p) => p.discard()));
      return result(false, []);
    }
    for (const f of finals) await f.commit();
    return result(true, built, rejectedFile?.path);
  } catch (e) {
    await Promise.all([...temps, ...finals].map((p) => p.discard()));
    throw e;
  }

  function result(ok: boolean, files: BuiltFile[], rejectedPath?: string): BuildResult {
    const list = findings.list();
    return {
      ok,
      files,
      contacts: seen - rejected.length,
      rejected: rejected.length,
      ...(rejectedPath ? { rejectedFile: rejectedPath, rejectedRows: rejected.map((r) => ({ line: r.line, reason: reasonOf(r) })) } : {}),
      findings: list,
      errors: findings.errors,
      warnings: findings.warnings,
      ...(reading
        ? {
            export: {
              format: reading.format,
              encoding: reading.encoding,
              encodingReason: reading.encodingReason,
              delimiter: reading.delimiter,
              columns: reading.columns,
              mapping: reading.mapping,
            },
          }
        : {}),
    };
  }
}

async function* concat(...parts: (Uint8Array | AsyncIterable<Uint8Array>)[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) {
    if (p instanceof Uint8Array) yield p;
    else yield* p;
  }
}

/** With partial acceptance and no `max`: a tenth of the rows. */
export const DEFAULT_MAX_REJECTED = '10%';

/** The most rows that may be left out: a count, or a share of the rows (`'5%'`). */
export function rejectLimit(max: number | string | undefined, rows: number): number {
  const m = max ?? DEFAULT_MAX_REJECTED;
  if (typeof m === 'number') return m;
  const pct = /^(\d+(?:\.\d+)?)\s*%$/.exec(m.trim());
  if (pct) return Math.floor((rows * Number(pct[1])) / 100);
  return Number(m);
}

/** A rejected row's reasons, on one line. */
function reasonOf(r: RejectedRow): string {
  return r.errors
    .map((e) => (e.field && !e.message.startsWith(e.field) ? `${e.field}: ${e.message}` : e.message))
    .join(' | ')
    .replace(/[\r\n]+/g, ' ');
}

/**
 * The rejected rows as the export holds them: its header and fields, its
 * delimiter and its encoding, plus `dmc_line` and `dmc_reason`. Objects
 * (records, JSON Lines) give the DMC columns, `;` and UTF-8.
 */
async function* rejectedRowsFile(reading: ExportReading | undefined, columns: readonly string[], rows: readonly RejectedRow[]): AsyncGenerator<Uint8Array> {
  const csv = reading?.format === 'csv' && reading.headers;
  const sep = csv ? (reading.delimiter ?? ';') : ';';
  const enc = csv ? reading.encoding : 'utf8';
  const quote = (v: string): string => (v.includes(sep) || /["\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  const line = (fields: readonly string[]): string => `${fields.map(quote).join(sep)}\r\n`;
  const encode = (text: string): Uint8Array => (/^utf-?8$/i.test(enc) ? Buffer.from(text, 'utf8') : iconv.encode(text, enc));
  yield encode(line([...(csv ? reading.headers! : columns), 'dmc_line', 'dmc_reason']));
  for (const r of rows) yield encode(line([...(csv && r.raw ? r.raw : r.values), String(r.line), reasonOf(r)]));
}
