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
import { ByteBatch, checkValue, encodeLatin9, isCleanRow, type ValuePolicy } from './encoding.js';
import { finding, FindingList, type Finding } from './findings.js';
import type { ContactRow, OutputEncoding, TriggerCommand } from './model.js';
import { mapCommandValues } from './ordered-params.js';
import { checkCommand } from './rules/command-rules.js';
import { SmsLengthRule } from './rules/sms-length.js';
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
  /** Partial acceptance: a contact with errors of its own is left out and given here, instead of failing the whole trigger. */
  readonly onReject?: (row: RejectedRow) => void;
}

/** Errors about the contacts as a whole: never a reason to leave one row out. */
const WHOLE_EXPORT: ReadonlySet<string> = new Set(['E_TOO_MANY_CONTACTS', 'E_LINE_TOO_LONG']);

/** A contact with the line it came from in its source, for findings. */
export interface SourcedRow {
  readonly values: ContactRow;
  readonly line?: number;
  /** The record as the export holds it, every field (for the rejected-rows file). */
  readonly raw?: readonly string[];
  /** What the reader found wrong with this record (counted with the row's other findings). */
  readonly problem?: Finding;
}

/** A row left out under partial acceptance: where it was, what it held, and why. */
export interface RejectedRow {
  readonly line: number;
  readonly values: ContactRow;
  readonly raw?: readonly string[];
  readonly errors: readonly Finding[];
}

/** Rows as plain arrays (line = position) or with their source line; or batches of them (`{ batches }`: one await per batch). */
export type RowSource = Iterable<SourcedRow | ContactRow> | AsyncIterable<SourcedRow | ContactRow> | RowBatches;

/** Rows a batch at a time: the readers of large exports give them so. */
export interface RowBatches {
  readonly batches: AsyncIterable<readonly (SourcedRow | ContactRow)[]>;
}

export interface EncodeStats {
  contacts: number;
  bytes: number;
}

/** When no columns are known (a favourite or contact-list trigger without contacts), the header written. */
export const DEFAULT_EMPTY_HEADER: readonly ContactColumn[] = ['PHONENUMBER1'];

const BATCH_BYTES = 64 * 1024;

/**
 * The writer in parts, so that a split can write each part's contacts before
 * it knows how many parts there are: the command is checked once, at
 * construction; `head()` serializes it (with a part's broadcast name);
 * `rows()` checks and encodes contacts; `tail()` closes the file.
 */
export class TriggerEncoder {
  readonly format: TriggerFormat;
  readonly encoding: OutputEncoding;
  /** The command as it will be written (values trimmed, transliterated). */
  readonly command: TriggerCommand;
  readonly columns: readonly ContactColumn[];
  private readonly policy: ValuePolicy;
  private readonly tags: ReturnType<typeof xmlColumnTags> | undefined;
  /** Each contact's SMS length, across every part. */
  private readonly sms: SmsLengthRule | undefined;

  constructor(
    command: TriggerCommand,
    columns: readonly ContactColumn[],
    private readonly opts: EncodeOptions,
    private readonly findings: FindingList,
  ) {
    this.format = opts.format ?? 'csv';
    this.encoding = opts.encoding ?? 'iso-8859-15';
    this.policy = { encoding: this.encoding, replaceForbidden: opts.replaceForbidden ?? false };
    for (const c of columns) columnSpec(c); // throws on a non-canonical column: a programming error
    this.command = mapCommandValues({ ...command, encoding: undefined } as TriggerCommand, (raw, field) => {
      // Readers trim command values (the guide writes `oneTouchId: 40`): write what will be read.
      const value = raw.trim();
      if (value !== raw) findings.add(finding('W_WHITESPACE', `${field}: spaces around the value removed`, { field }));
      const r = checkValue(value, 'command', this.policy);
      if (!r.ok) {
        findings.add(finding(r.problem.code, `${field} ${r.problem.message}`, { field }));
        return value;
      }
      for (const n of r.notes ?? []) findings.add(finding(n.code, `${field}: ${n.message}`, { field }));
      return r.value;
    });
    this.columns = columns.length > 0 ? columns : DEFAULT_EMPTY_HEADER;
    findings.addAll(checkCommand(this.command, { columns: this.columns, channel: opts.channel ?? 'file' }));
    findings.addAll(checkHeader(this.columns));
    this.tags = this.format === 'xml' ? xmlColumnTags(this.columns) : undefined;
    this.sms = SmsLengthRule.of(this.command, this.columns, findings);
  }

  /** Encodes text already checked (see checkValue) in the output encoding. */
  encode(text: string): Buffer {
    // Every value was checked to fit the encoding; a refused one makes the output void anyway.
    return this.encoding === 'utf8' ? Buffer.from(text, 'utf8') : encodeLatin9(text);
  }

  /** Everything before the first contact; `broadcastName` overrides the command's (a split part's name). */
  head(broadcastName?: string): Buffer {
    const cmd = broadcastName === undefined ? this.command : { ...this.command, broadcastName };
    return this.encode(this.format === 'csv' ? csvHead(cmd, this.columns, this.encoding) : xmlHead(cmd, this.encoding, true));
  }

  tail(): Buffer {
    return this.encode(this.format === 'csv' ? CSV_TAIL : xmlTail(true));
  }

  /**
   * Checks and encodes contacts in ~64 KiB batches. The contact rules run
   * with a fresh checker (at most `maxContacts`); `stats.contacts` counts.
   */
  async *rows(rows: RowSource, stats: EncodeStats): AsyncGenerator<Buffer> {
    const { findings, policy, tags, encoding } = this;
    const cols = this.columns;
    const width = cols.length;
    const checker = new ContactChecker(cols, findings, this.opts.maxContacts, this.sms);
    const buf = new ByteBatch(encoding, BATCH_BYTES * 2);
    let index = 0;
    const flush = (): Buffer => {
      const b = buf.take();
      stats.bytes += b.length;
      return b;
    };
    const onReject = this.opts.onReject;
    let values: ContactRow = [];
    let line = 0;
    let joined = '';
    /** Checks one row into `values`/`joined`; its findings go to `findings`. */
    const check = (row: SourcedRow | ContactRow): void => {
      index++;
      if (Array.isArray(row)) {
        values = row;
        line = index;
      } else {
        values = (row as SourcedRow).values;
        line = (row as SourcedRow).line ?? index;
        const problem = (row as SourcedRow).problem;
        if (problem) findings.add(problem);
      }
      if (values.length !== width) {
        findings.add(finding('E_FIELD_COUNT', `${values.length} value(s) where the columns are ${width}`, { line }));
        values = values.length > width ? values.slice(0, width) : [...values, ...new Array<string>(width - values.length).fill('')];
      }
      joined = values.join(';');
      if (!isCleanRow(joined, width, encoding)) {
        let copy: string[] | undefined;
        for (let i = 0; i < width; i++) {
          const v = values[i]!;
          const r = checkValue(v, 'contact', policy);
          if (r.ok && r.value === v && !r.notes) continue;
          const field = cols[i]!;
          if (!r.ok) {
            findings.add(finding(r.problem.code, `${field} ${r.problem.message}`, { line, field }));
            continue;
          }
          for (const n of r.notes ?? []) findings.add(finding(n.code, `${field}: ${n.message}`, { line, field }));
          copy ??= [...values];
          copy[i] = r.value;
        }
        if (copy) {
          values = copy;
          joined = values.join(';');
        }
      }
      checker.check(values, line);
    };
    const add = (row: SourcedRow | ContactRow): void => {
      if (!onReject) check(row);
      else {
        // Partial acceptance: a row with errors of its own is left out and handed over with them; the export goes on.
        const got = findings.captured(() => check(row));
        const own = got.filter((f) => f.severity === 'error' && !WHOLE_EXPORT.has(f.code));
        if (own.length) {
          checker.uncount();
          for (const f of got) if (WHOLE_EXPORT.has(f.code)) findings.add(f);
          onReject({
            line,
            values: Array.isArray(row) ? row : (row as SourcedRow).values,
            ...(Array.isArray(row) ? {} : { raw: (row as SourcedRow).raw }),
            errors: own,
          });
          return;
        }
        findings.addAll(got);
      }
      if (tags) buf.add(xmlContact(values, tags));
      else {
        buf.add(joined);
        buf.add(CSV_EOL);
      }
    };
    // A synchronous source is walked synchronously, batches a batch at a time: no promise per row.
    if ('batches' in rows) {
      for await (const batch of rows.batches) {
        for (const row of batch) {
          add(row);
          if (buf.length >= BATCH_BYTES) yield flush();
        }
      }
    } else if (Symbol.iterator in rows) {
      for (const row of rows as Iterable<SourcedRow | ContactRow>) {
        add(row);
        if (buf.length >= BATCH_BYTES) yield flush();
      }
    } else {
      for await (const row of rows as AsyncIterable<SourcedRow | ContactRow>) {
        add(row);
        if (buf.length >= BATCH_BYTES) yield flush();
      }
    }
    stats.contacts += checker.contacts;
    if (buf.length > 0) yield flush();
  }

  /** The rule on contacts as a whole, once every part is written. */
  finish(contacts: number): void {
    this.findings.addAll(checkContactsPresence(this.command, true, contacts));
    this.sms?.finish();
  }
}

/** What `encodeTrigger` takes: the command, the columns, the contacts and the writer's options. */
export interface EncodeTriggerInput extends EncodeOptions {
  readonly command: TriggerCommand;
  /** The DMC columns of the contacts, in the order of each row's values. */
  readonly columns: readonly ContactColumn[];
  readonly rows: RowSource;
  /** Findings go to this list (to gather several steps' findings); default: a new list of at most 100 per severity. */
  readonly findings?: FindingList;
}

/** The bytes of a trigger as they are produced, and what was found on the way (complete once iterated). */
export interface EncodedTrigger extends AsyncIterable<Buffer> {
  readonly findings: FindingList;
  readonly stats: Readonly<EncodeStats>;
  /** No error found (so far: the contacts are checked as they are encoded). */
  readonly ok: boolean;
}

/**
 * Encodes a whole trigger, chunk by chunk: pipe it to a file or a socket.
 * An error found on the way does not stop the bytes: check `ok` once it is
 * iterated, and discard the output when it is false (the file builders do).
 */
export function encodeTrigger(input: EncodeTriggerInput): EncodedTrigger {
  const findings = input.findings ?? new FindingList(100);
  const stats: EncodeStats = { contacts: 0, bytes: 0 };
  async function* chunks(): AsyncGenerator<Buffer> {
    const enc = new TriggerEncoder(input.command, input.columns, input, findings);
    const head = enc.head();
    stats.bytes += head.length;
    yield head;
    yield* enc.rows(input.rows, stats);
    enc.finish(stats.contacts);
    const tail = enc.tail();
    stats.bytes += tail.length;
    yield tail;
  }
  return {
    findings,
    stats,
    get ok() {
      return !findings.hasErrors;
    },
    [Symbol.asyncIterator]: () => chunks(),
  };
}
