/**
 * The library's front door: build, validate and convert trigger files, read
 * daily reports. Options objects, typed results, content problems as
 * findings (never thrown), I/O failures thrown. Loads the formats and files
 * layers only: no socket library.
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { buildTriggerFiles, type BuildResult } from './files/build.js';
import { convertTriggerFile, type ConvertResult } from './files/convert.js';
import { validateTriggerFile } from './files/read-trigger.js';
import { readCraFile } from './files/reports.js';
import { closeStream } from './files/streams.js';
import { commandFromData, parseCommandFile } from './formats/command-file.js';
import type { ContactColumn } from './formats/contacts.js';
import { readCra, summarizeCra, type CraRecord, type CraSummary } from './formats/cra.js';
import { readCsvTrigger } from './formats/csv-reader.js';
import { FindingList, TriggerFormatError, type Finding } from './formats/findings.js';
import type { CommandInput, OutputEncoding, TriggerCommand } from './formats/model.js';
import { readRecords, readSiExport, type ContactRecord } from './formats/si-export.js';
import { encodeTrigger, type TriggerFormat } from './formats/trigger-encoder.js';
import { validateReading, type ValidationReport } from './formats/validate.js';
import { readXmlTrigger } from './formats/xml-reader.js';

/** Contacts: an SI export file (CSV or JSON Lines), or objects (an array, a generator, a cursor). */
export type ContactsInput = string | Iterable<ContactRecord> | AsyncIterable<ContactRecord>;

export interface BuildTriggerOptions {
  /** The command: typed (`CommandInput`), or the path of a command file (YAML or JSON). */
  readonly command: CommandInput | string;
  /** The contacts; absent for a favourite or a contact-list broadcast. */
  readonly contacts?: ContactsInput;
  /** Where the trigger goes: a path (written atomically: all or nothing) or a stream (you discard it when `ok` is false). */
  readonly to: string | Writable;
  /** Default `csv`. */
  readonly format?: TriggerFormat;
  /** Default `iso-8859-15`, what the platform reads. */
  readonly encoding?: OutputEncoding;
  /** DMC column → the export's header (or the records' key), when the usual names do not map. */
  readonly map?: Readonly<Partial<Record<ContactColumn, string>>>;
  /** With a path: files of at most this many contacts (`<base>-001.csv`...). */
  readonly split?: number;
  /** Replace `;`, CR and LF in contacts (each a warning) instead of refusing them. */
  readonly replaceForbidden?: boolean;
  /** Called every 10,000 contacts. */
  readonly onProgress?: (contacts: number) => void;
}

/**
 * Builds a trigger: every rule of the guide checked, ISO-8859-15 by default.
 * Content problems are in `findings` (`ok: false`: nothing written to a
 * path); an unreadable file or a failing stream throws.
 */
export async function buildTrigger(options: BuildTriggerOptions): Promise<BuildResult> {
  let command: TriggerCommand;
  try {
    command =
      typeof options.command === 'string'
        ? parseCommandFile(await readFile(options.command, 'utf8'), options.command)
        : commandFromData(options.command, 'command');
  } catch (e) {
    if (e instanceof TriggerFormatError) return refused([...e.findings]);
    throw e;
  }
  const contacts = options.contacts;
  const encodeOptions = {
    format: options.format ?? 'csv',
    encoding: options.encoding ?? 'iso-8859-15',
    replaceForbidden: options.replaceForbidden ?? false,
  } as const;
  if (typeof options.to === 'string') {
    return buildTriggerFiles(command, typeof contacts === 'string' ? contacts : undefined, {
      ...encodeOptions,
      out: options.to,
      ...(contacts !== undefined && typeof contacts !== 'string' ? { records: contacts } : {}),
      ...(options.map ? { export: { map: options.map } } : {}),
      ...(options.split !== undefined ? { split: options.split } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
  }
  if (options.split !== undefined) throw new TypeError('buildTrigger: split writes several files: give `to` a path, not a stream');
  const findings = new FindingList(100);
  const map = options.map ? { map: options.map } : {};
  const exportFindings = findings.scoped('export');
  const stream = typeof contacts === 'string' ? createReadStream(contacts, { highWaterMark: 256 * 1024 }) : undefined;
  try {
    const reading =
      contacts === undefined
        ? undefined
        : stream
          ? await readSiExport(stream, exportFindings, { name: contacts as string, ...map })
          : await readRecords(contacts as Iterable<ContactRecord>, exportFindings, map);
    const encoded = encodeTrigger({ command, columns: reading?.columns ?? [], rows: reading?.rows ?? [], findings, ...encodeOptions });
    await pipeline(Readable.from(encoded), options.to, { end: true });
    const list = findings.list();
    return { ok: encoded.ok, files: [], contacts: encoded.stats.contacts, rejected: 0, findings: list, errors: findings.errors, warnings: findings.warnings };
  } finally {
    if (stream) await closeStream(stream);
  }
}

function refused(findings: Finding[]): BuildResult {
  return {
    ok: false,
    files: [],
    contacts: 0,
    rejected: 0,
    findings,
    errors: findings.filter((f) => f.severity === 'error').length,
    warnings: findings.filter((f) => f.severity === 'warning').length,
  };
}

export interface ValidateTriggerOptions {
  /** Check the documents named by `fileName` / `fileAttachment` in this folder (a path source only). */
  readonly documentsDir?: string;
  /** Read with this encoding whatever the file declares. */
  readonly encoding?: string;
  /** File trigger (`|datejour|`, default) or email trigger (`|date|`). */
  readonly channel?: 'file' | 'email';
  /** With a stream or bytes: `csv` or `xml` (default: from the first byte). */
  readonly format?: TriggerFormat;
}

/** Validates a trigger: a file path, a readable stream, or bytes. */
export async function validateTrigger(source: string | Readable | Uint8Array, options: ValidateTriggerOptions = {}): Promise<ValidationReport> {
  const read = { ...(options.encoding ? { encoding: options.encoding } : {}), ...(options.channel ? { channel: options.channel } : {}) };
  if (typeof source === 'string') return validateTriggerFile(source, { ...read, ...(options.documentsDir ? { documentsDir: options.documentsDir } : {}) });
  if (options.documentsDir) throw new TypeError('validateTrigger: documentsDir needs a file path');
  const findings = new FindingList(100);
  const chunks: AsyncIterable<Uint8Array> | Uint8Array[] = source instanceof Uint8Array ? [source] : source;
  const format =
    options.format ??
    (source instanceof Uint8Array
      ? Buffer.from(source.subarray(0, 512))
          .toString('latin1')
          .replace(/^\xEF\xBB\xBF/, '')
          .trimStart()
          .startsWith('<')
        ? 'xml'
        : 'csv'
      : 'csv');
  const reading = await (format === 'xml' ? readXmlTrigger(chunks, findings, read) : readCsvTrigger(chunks, findings, read));
  return validateReading(reading, findings, options.channel ? { channel: options.channel } : {});
}

export interface ConvertTriggerOptions {
  readonly to: TriggerFormat;
  /** Output path (written atomically). */
  readonly out: string;
  readonly encoding?: OutputEncoding;
  readonly replaceForbidden?: boolean;
  /** Read with this encoding whatever the input declares. */
  readonly inputEncoding?: string;
}

/** Converts a trigger file between CSV and XML, canonically (errata fixed, documented order). */
export function convertTrigger(file: string, options: ConvertTriggerOptions): Promise<ConvertResult> {
  return convertTriggerFile(file, options);
}

export interface ReportReading {
  readonly records: CraRecord[];
  readonly summary: CraSummary;
  /** Problems met in the file (a bad header, a line with another field count, a bad date). */
  readonly findings: Finding[];
}

/**
 * Reads a daily report (CRA): every record, and a summary per broadcast
 * (results by label and annex 5.4 code, success rate). For a report too
 * large to hold, iterate `reportRecords` instead.
 */
export async function readReport(source: string | Readable): Promise<ReportReading> {
  const findings = new FindingList(100);
  const records: CraRecord[] = [];
  async function* collect(): AsyncGenerator<CraRecord> {
    for await (const r of reportRecords(source, findings)) {
      records.push(r);
      yield r;
    }
  }
  const summary = await summarizeCra(collect());
  return { records, summary, findings: findings.list() };
}

/** The records of a report as they are read (a file path or a stream); problems go to `findings` when given. */
export function reportRecords(source: string | Readable, findings: FindingList = new FindingList(100)): AsyncGenerator<CraRecord> {
  return typeof source === 'string' ? readCraFile(source, findings) : readCra(source, findings);
}
