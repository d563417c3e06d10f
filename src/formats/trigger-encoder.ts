/**
 * The streaming writer: command + contacts in, encoded bytes out, with every
 * value checked (forbidden characters, transliteration, encodability) and
 * every rule of the validator applied on the way. Memory stays flat: rows
 * are serialized into ~64 KiB batches, encoded and handed on.
 *
 * Pure: knows nothing of files. `files/build-files.ts` writes the bytes to a
 * temporary name and renames it when complete.
 */
import { columnSpec, type ContactColumn } from './contacts.js';
import { csvHead, CSV_EOL, CSV_TAIL } from './csv-writer.js';
import { checkValue, encodeLatin9, isCleanRow, type ValuePolicy } from './encoding.js';
import { finding, type FindingList } from './findings.js';
import type { ContactRow, OutputEncoding, TriggerCommand } from './model.js';
import { mapCommandValues } from './ordered-params.js';
import { checkCommand } from './rules/command-rules.js';
import { ContactChecker, checkHeader } from './rules/contact-rules.js';
import { checkContactsPresence } from './validate.js';
import { xmlColumnTags, xmlContact, xmlHead, xmlTail } from './xml-writer.js';

export type TriggerFormat = 'csv' | 'xml';

/** Writer options. Defaults: CSV, ISO-8859-15, refuse forbidden characters. */
export interface EncodeOptions {
  readonly format?: TriggerFormat;
  readonly encoding?: OutputEncoding;
  /** Replace `;` (contacts), CR and LF instead of refusing them; each replacement is a warning. */
  readonly replaceForbidden?: boolean;
  /** At most this many contacts (default 100,000, the platform's limit). */
  readonly maxContacts?: number;
  /** Email or file trigger, for the date dynamic field. */
  readonly channel?: 'file' | 'email';
}

/** A contact with the line it came from in its source, for findings. */
export interface SourcedRow {
  readonly values: ContactRow;
  readonly line?: number;
}

/** Rows as plain arrays (line = position) or with their source line. */
export type RowSource = Iterable<SourcedRow | ContactRow> | AsyncIterable<SourcedRow | ContactRow>;

export interface EncodeStats {
  contacts: number;
  bytes: number;
}

/** When no columns are known (a favourite or contact-list trigger without contacts), the header written. */
export const DEFAULT_EMPTY_HEADER: readonly ContactColumn[] = ['PHONENUMBER1'];

const BATCH_CHARS = 64 * 1024;

/**
 * Encodes a trigger. Findings (errors and warnings) go to `findings`; the
 * caller decides what an error means for the bytes already produced (the
 * file builders discard them).
 */
export async function* encodeTrigger(
  command: TriggerCommand,
  columns: readonly ContactColumn[],
  rows: RowSource,
  opts: EncodeOptions,
  findings: FindingList,
  stats: EncodeStats = { contacts: 0, bytes: 0 },
): AsyncGenerator<Buffer> {
  const format = opts.format ?? 'csv';
  const encoding = opts.encoding ?? 'iso-8859-15';
  const policy: ValuePolicy = { encoding, replaceForbidden: opts.replaceForbidden ?? false };
  for (const c of columns) columnSpec(c); // throws on a non-canonical column: a programming error

  const checked = mapCommandValues({ ...command, encoding: undefined } as TriggerCommand, (raw, field) => {
    // Readers trim command values (the guide writes `oneTouchId: 40`): write what will be read.
    const value = raw.trim();
    if (value !== raw) findings.add(finding('W_WHITESPACE', `${field}: spaces around the value removed`, { field }));
    const r = checkValue(value, 'command', policy);
    if (!r.ok) { findings.add(finding(r.problem.code, `${field} ${r.problem.message}`, { field })); return value; }
    for (const n of r.notes ?? []) findings.add(finding(n.code, `${field}: ${n.message}`, { field }));
    return r.value;
  });
  const cols = columns.length > 0 ? columns : DEFAULT_EMPTY_HEADER;
  findings.addAll(checkCommand(checked, { columns: cols, channel: opts.channel ?? 'file' }));
  findings.addAll(checkHeader(cols));
  const checker = new ContactChecker(cols, findings, opts.maxContacts);

  let buf = format === 'csv' ? csvHead(checked, cols, encoding) : xmlHead(checked, encoding, true);
  const tags = format === 'xml' ? xmlColumnTags(cols) : undefined;
  const width = cols.length;
  const flush = (): Buffer => {
    // Every value was checked to fit the encoding; a refused one makes the output void anyway.
    const b = encoding === 'utf8' ? Buffer.from(buf, 'utf8') : encodeLatin9(buf);
    stats.bytes += b.length;
    buf = '';
    return b;
  };

  let index = 0;
  const add = (row: SourcedRow | ContactRow): void => {
    index++;
    let values: ContactRow;
    let line: number;
    if (Array.isArray(row)) { values = row; line = index; } else { values = (row as SourcedRow).values; line = (row as SourcedRow).line ?? index; }
    if (values.length !== width) {
      findings.add(finding('E_FIELD_COUNT', `${values.length} value(s) where the columns are ${width}`, { line }));
      values = values.length > width ? values.slice(0, width) : [...values, ...new Array<string>(width - values.length).fill('')];
    }
    let joined = values.join(';');
    if (!isCleanRow(joined, width, encoding)) {
      let copy: string[] | undefined;
      for (let i = 0; i < width; i++) {
        const v = values[i]!;
        const r = checkValue(v, 'contact', policy);
        if (r.ok && r.value === v && !r.notes) continue;
        const field = cols[i]!;
        if (!r.ok) { findings.add(finding(r.problem.code, `${field} ${r.problem.message}`, { line, field })); continue; }
        for (const n of r.notes ?? []) findings.add(finding(n.code, `${field}: ${n.message}`, { line, field }));
        copy ??= [...values];
        copy[i] = r.value;
      }
      if (copy) { values = copy; joined = values.join(';'); }
    }
    checker.check(values, line);
    buf += tags ? xmlContact(values, tags) : joined + CSV_EOL;
  };
  // A synchronous source is walked synchronously: no promise per row.
  if (Symbol.iterator in rows) {
    for (const row of rows as Iterable<SourcedRow | ContactRow>) {
      add(row);
      if (buf.length >= BATCH_CHARS) yield flush();
    }
  } else {
    for await (const row of rows) {
      add(row);
      if (buf.length >= BATCH_CHARS) yield flush();
    }
  }
  stats.contacts = checker.contacts;
  findings.addAll(checkContactsPresence(checked, true, checker.contacts));
  buf += format === 'csv' ? CSV_TAIL : xmlTail(true);
  yield flush();
}
