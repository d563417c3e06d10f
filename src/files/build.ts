/**
 * Builds trigger files from a command and an SI export: the file adapter
 * around the pure encoder. All parts are written under temporary names and
 * renamed only when every part is complete and no error was found.
 *
 * Split (issue #2): above the limit, several complete trigger files of at
 * most N contacts, named `<base>-001.csv`, `<base>-002.csv`..., broadcast
 * names suffixed ` (1/3)`, ` (2/3)`... The export is read twice (a counting
 * pass, then the writing pass) so the part count is known before the first
 * broadcast name is written; memory stays flat either way.
 */
import { createReadStream } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { MAX_CONTACTS, type ContactColumn } from '../formats/contacts.js';
import { FindingList, type Finding } from '../formats/findings.js';
import type { TriggerCommand } from '../formats/model.js';
import { readSiExport, type ExportOptions, type ExportReading } from '../formats/si-export.js';
import { encodeTrigger, type EncodeOptions, type EncodeStats, type SourcedRow } from '../formats/trigger-encoder.js';
import { PendingFile } from './atomic.js';

export interface BuildOptions extends EncodeOptions {
  /** Output path; with a split, the base of the part names. */
  readonly out: string;
  /** Contacts per part; absent: no split (more than 100,000 contacts is an error). */
  readonly split?: number;
  /** How to read the SI export. */
  readonly export?: ExportOptions;
  /** Called every 10,000 contacts with the count so far. */
  readonly onProgress?: (contacts: number) => void;
  /** Findings kept per severity (default 100). */
  readonly findingCap?: number;
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

function openExport(path: string, findings: FindingList, opts: ExportOptions | undefined): Promise<ExportReading> {
  return readSiExport(createReadStream(path, { highWaterMark: 256 * 1024 }), findings, { name: path, ...opts });
}

/**
 * Builds the trigger file(s). Content problems are findings in the result
 * (`ok: false`, nothing written); I/O failures throw.
 */
export async function buildTriggerFiles(command: TriggerCommand, contactsPath: string | undefined, opts: BuildOptions): Promise<BuildResult> {
  const findings = new FindingList(opts.findingCap ?? 100);
  const partSize = opts.split !== undefined ? Math.min(opts.split, MAX_CONTACTS) : undefined;
  let total = 0;
  if (partSize !== undefined && contactsPath) {
    const counting = await openExport(contactsPath, new FindingList(0), opts.export);
    for await (const _ of counting.rows) total++;
  }
  const reading = contactsPath ? await openExport(contactsPath, findings, opts.export) : undefined;
  const columns: ContactColumn[] = reading?.columns ?? [];
  const parts = partSize !== undefined ? Math.max(1, Math.ceil(total / partSize)) : 1;
  const source = reading?.rows[Symbol.asyncIterator]();
  const pending: PendingFile[] = [];
  const built: { path: string; stats: EncodeStats; broadcastName: string }[] = [];
  let seen = 0;
  const progress = opts.onProgress;

  async function* take(limit: number): AsyncGenerator<SourcedRow> {
    if (!source) return;
    let n = 0;
    while (n < limit) {
      const r = await source.next();
      if (r.done) return;
      n++;
      seen++;
      if (progress && seen % 10_000 === 0) progress(seen);
      yield r.value;
    }
  }

  try {
    for (let i = 1; i <= parts; i++) {
      const path = parts > 1 ? partPath(opts.out, i, parts) : opts.out;
      const broadcastName = parts > 1 ? partBroadcastName(command.broadcastName, i, parts) : command.broadcastName;
      const file = new PendingFile(path);
      pending.push(file);
      const stats: EncodeStats = { contacts: 0, bytes: 0 };
      const limit = partSize ?? Number.POSITIVE_INFINITY;
      const encodeOpts: EncodeOptions = { ...opts, maxContacts: partSize ?? opts.maxContacts ?? MAX_CONTACTS };
      await file.write(encodeTrigger({ ...command, broadcastName }, columns, take(limit), encodeOpts, findings, stats));
      built.push({ path, stats, broadcastName });
    }
    // Rows left over (the export grew between the passes): never drop a contact silently.
    if (source) for await (const _ of { [Symbol.asyncIterator]: () => source }) { seen++; }
    if (seen > built.reduce((s, b) => s + b.stats.contacts, 0)) {
      findings.add({ code: 'E_EXPORT', severity: 'error', message: `the export changed while it was read (${seen} contacts now): build again once it is complete` });
    }
    if (findings.hasErrors) {
      await Promise.all(pending.map((p) => p.discard()));
      return result(false, []);
    }
    for (const p of pending) await p.commit();
    return result(true, built.map((b) => ({ path: b.path, contacts: b.stats.contacts, bytes: b.stats.bytes, broadcastName: b.broadcastName })));
  } catch (e) {
    await Promise.all(pending.map((p) => p.discard()));
    throw e;
  }

  function result(ok: boolean, files: BuiltFile[]): BuildResult {
    const list = findings.list();
    return {
      ok,
      files,
      contacts: seen,
      findings: list,
      errors: findings.errors,
      warnings: findings.warnings,
      ...(reading ? { export: { format: reading.format, encoding: reading.encoding, encodingReason: reading.encodingReason, delimiter: reading.delimiter, columns: reading.columns, mapping: reading.mapping } } : {}),
    };
  }
}
