/**
 * Results joined back to an export: the export's own rows, in its own
 * encoding, separator and line ending, with six columns added at the end
 * (`dmc_status` delivered|failed|pending|rejected, `dmc_code`, `dmc_label`,
 * `dmc_date`, `dmc_medium`, `dmc_broadcast`), and a JSON summary beside it.
 *
 * A row is matched by its external reference when the export maps one (and
 * the row has it), otherwise by its addresses (phone numbers, fax, email,
 * normalized) within the input's broadcasts. A row that matches nothing
 * stays pending and is counted as unmatched: never guessed. A row reached
 * on several media is delivered when any medium delivered, pending while
 * any is pending, failed otherwise.
 *
 * Values are written as read (trimmed, quoted only where the separator, a
 * quote or a line break needs it). JSON Lines exports get a `dmc` object on
 * each record. Files are replaced atomically.
 */
import { open, type FileHandle } from 'node:fs/promises';
import iconv from 'iconv-lite';
import { PendingFile } from '../files/atomic.js';
import { openRegular } from '../files/no-follow.js';
import { addressKey } from '../formats/address.js';
import { csvRecordBatches } from '../formats/csv-records.js';
import type { ContactColumn } from '../formats/contacts.js';
import { CRA_CODES } from '../formats/cra-codes.js';
import { FindingList } from '../formats/findings.js';
import { readSiExport } from '../formats/si-export.js';
import { decode, lines } from '../formats/text-input.js';
import type { FinalStatus, JoinResult, ResultLookup } from '../store/statuses.js';

export const RESULT_COLUMNS = ['dmc_status', 'dmc_code', 'dmc_label', 'dmc_date', 'dmc_medium', 'dmc_broadcast'] as const;

/** The summary written beside the results file (`<export>.summary.json`), and printed by `results --json`. */
export interface ResultsSummary {
  readonly input: { readonly id: number; readonly name: string; readonly folder: string };
  readonly export: string;
  readonly resultsFile: string;
  readonly rows: number;
  readonly byStatus: Record<FinalStatus, number>;
  /** Rows per medium of their result (`none`: no result yet). */
  readonly byMedium: Record<string, number>;
  /** Rows no status matched (by reference or address): counted pending. */
  readonly unmatched: number;
  /** Rows left out under partial acceptance (never sent): `dmc_status` rejected, the reason as label; not in byStatus. */
  readonly rejected: number;
  readonly broadcasts: readonly string[];
  /** By external reference or by address. */
  readonly matchedBy: 'reference' | 'address';
  /** Every row has a final status, or the input is older than `finalAfterDays`. */
  readonly final: boolean;
  readonly updatedAt: string;
}

export interface ResultsFileOptions {
  readonly exportPath: string;
  readonly outPath: string;
  readonly summaryPath: string;
  readonly map: Readonly<Partial<Record<ContactColumn, string>>>;
  /** The statuses of the input's broadcasts (StatusStore.lookup). */
  readonly lookup: ResultLookup;
  readonly input: ResultsSummary['input'];
  readonly broadcasts: readonly string[];
  /** The input is past `finalAfterDays`: what is pending now stays so. */
  readonly expired: boolean;
  /** `false` (the daemon: sent/ is inside the drop folder): the export is read only as a regular file, never through a link (else NotRegularFileError). */
  readonly followLinks?: boolean;
  /** Rows left out under partial acceptance: export line → reason. */
  readonly rejected?: ReadonlyMap<number, string>;
}

/** Every column that can hold an address the platform calls or writes to. */
const ADDRESS_COLUMNS: readonly ContactColumn[] = [
  'PHONENUMBER1',
  'PHONENUMBER2',
  'PHONENUMBER3',
  'PHONENUMBER4',
  'PHONENUMBER5',
  'PHONENUMBER6',
  'FAXNUMBER',
  'EMAIL1',
];
const ANNEX_LABEL = new Map(CRA_CODES.map((c) => [c.code, c.label]));
const PRECEDENCE: Readonly<Record<FinalStatus, number>> = { delivered: 3, pending: 2, failed: 1 };

/** The one result that stands for a row: delivered first, then pending, then failed; the latest among equals. */
function pick(candidates: readonly JoinResult[]): JoinResult | undefined {
  let best: JoinResult | undefined;
  for (const c of candidates) {
    if (!best || PRECEDENCE[c.final] > PRECEDENCE[best.final] || (PRECEDENCE[c.final] === PRECEDENCE[best.final] && c.sort > best.sort)) best = c;
  }
  return best;
}

const ANNEX_MEDIUM: Readonly<Record<string, string>> = { sms: 'SMS', mms: 'MMS', call: 'VOCAL', fax: 'FAX', mail: 'EMAIL', notif: 'NOTIF' };

/**
 * The annex 5.4 code and label of a result: a report's as read; a push
 * status's own code, else the annex code its medium and type name
 * (`RECEIVED` by SMS is CRA_SMS_RECEIVED), else the type itself.
 */
function codeAndLabel(r: JoinResult): [string, string] {
  if (r.source === 'report') return [r.code ?? '', r.label ?? ''];
  const code = r.code || `CRA_${ANNEX_MEDIUM[r.medium] ?? ''}_${r.status}`;
  const annex = ANNEX_LABEL.get(code);
  if (annex) return [code, annex];
  // An error's own wording (`info`, line 6773); a reply's text (also `info`) is the contact's, not a label.
  return [r.code ?? '', r.final === 'failed' && r.label ? r.label : r.status];
}

/** A row's key values: its reference and its addresses (normalized), from the mapped columns. */
interface RowKeys {
  readonly ref: string;
  readonly addresses: readonly string[];
}

function keysOf(get: (c: ContactColumn) => string): RowKeys {
  const addresses: string[] = [];
  for (const col of ADDRESS_COLUMNS) {
    const v = get(col);
    if (!v) continue;
    const n = /^PHONENUMBER(\d)$/.exec(col)?.[1];
    const cc = n ? get(`COUNTRYCODE${n}` as ContactColumn) : col === 'FAXNUMBER' ? get('FAXCOUNTRYCODE') : '';
    const k = addressKey(v, cc);
    if (k) addresses.push(k);
  }
  return { ref: get('EXTERNALREFERENCE'), addresses };
}

/** Joins the results to the export's rows and writes the results file and its summary. */
export async function writeResultsFile(o: ResultsFileOptions): Promise<ResultsSummary> {
  // One handle for the head and the body: what was checked is what is read.
  const fh = o.followLinks === false ? await openRegular(o.exportPath, o.exportPath) : await open(o.exportPath, 'r');
  try {
    return await writeFrom(fh, o);
  } finally {
    await fh.close();
  }
}

async function writeFrom(fh: FileHandle, o: ResultsFileOptions): Promise<ResultsSummary> {
  const head = await readHead(fh, 64 * 1024);
  const body = (): AsyncIterable<Uint8Array> => fh.createReadStream({ start: 0, autoClose: false, highWaterMark: 64 * 1024 });
  const findings = new FindingList(0);
  // The head tells the encoding, separator and mapping (as the build read them: from the first 64 KiB).
  const reading = await readSiExport([head], findings, { map: o.map, name: o.exportPath });
  const matchedBy: ResultsSummary['matchedBy'] = reading.mapping.has('EXTERNALREFERENCE') && o.lookup.hasRefs ? 'reference' : 'address';
  const counts: Record<FinalStatus, number> = { delivered: 0, failed: 0, pending: 0 };
  const byMedium: Record<string, number> = {};
  let rows = 0;
  let unmatched = 0;
  const resultOf = (keys: RowKeys): JoinResult | undefined => {
    const found =
      matchedBy === 'reference'
        ? o.lookup.byRef(keys.ref)
        : keys.addresses.length === 1
          ? o.lookup.byAddress(keys.addresses[0]!)
          : keys.addresses.flatMap((a) => o.lookup.byAddress(a));
    const best = pick(found);
    rows++;
    if (!best) unmatched++;
    const status = best?.final ?? 'pending';
    counts[status]++;
    const medium = best?.medium || 'none';
    byMedium[medium] = (byMedium[medium] ?? 0) + 1;
    return best;
  };
  let rejected = 0;
  const added = (keys: RowKeys, line: number): string[] => {
    const why = o.rejected?.get(line);
    if (why !== undefined) {
      rejected++;
      return ['rejected', 'REJECTED', why, '', '', ''];
    }
    const r = resultOf(keys);
    return r ? [r.final, ...codeAndLabel(r), r.date, r.medium, r.broadcast_id] : ['pending', '', '', '', '', ''];
  };

  const out = new PendingFile(o.outPath);
  try {
    if (reading.format === 'jsonl') await out.write(jsonlResults(body(), reading.encoding, reading.mapping, added));
    else await out.write(csvResults(head, body(), reading.encoding, reading.delimiter ?? ';', reading.mapping, added));
    await out.commit();
  } finally {
    await out.discard();
  }
  const summary: ResultsSummary = {
    input: o.input,
    export: o.exportPath,
    resultsFile: o.outPath,
    rows,
    byStatus: counts,
    byMedium,
    unmatched,
    rejected,
    broadcasts: o.broadcasts,
    matchedBy,
    final: counts.pending === 0 || o.expired,
    updatedAt: new Date().toISOString(),
  };
  const s = new PendingFile(o.summaryPath);
  try {
    await s.write(once(Buffer.from(`${JSON.stringify(summary, null, 2)}\n`)));
    await s.commit();
  } finally {
    await s.discard();
  }
  return summary;
}

/** The first `size` bytes of a file (all of it when smaller). */
async function readHead(fh: FileHandle, size: number): Promise<Buffer> {
  const buf = Buffer.alloc(size);
  const { bytesRead } = await fh.read(buf, 0, size, 0);
  return buf.subarray(0, bytesRead);
}

async function* once(b: Buffer): AsyncGenerator<Uint8Array> {
  yield b;
}

/** The columns added to a row: from its result, or `rejected` when it was left out (by its export line). */
type Added = (keys: RowKeys, line: number) => string[];

async function* csvResults(
  head: Buffer,
  bytes: AsyncIterable<Uint8Array>,
  encoding: string,
  delimiter: string,
  mapping: ReadonlyMap<ContactColumn, string>,
  added: Added,
): AsyncGenerator<Uint8Array> {
  const bom = encoding === 'utf8' && head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf;
  // The export's line ending, from its first line.
  const eol = head.includes('\r\n') ? '\r\n' : '\n';
  const quote = (v: string): string => (v.includes(delimiter) || /["\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  const enc = (s: string): Buffer => (encoding === 'utf8' ? Buffer.from(s, 'utf8') : iconv.encode(s, encoding));
  if (bom) yield Buffer.from([0xef, 0xbb, 0xbf]);
  let index: Map<ContactColumn, number> | undefined;
  let buf = '';
  for await (const batch of csvRecordBatches(decode(bytes, encoding), delimiter, new FindingList(0)))
    for (const rec of batch) {
      const fields = rec.record;
      if (!index) {
        const header = fields.map((h) => h.trim());
        index = new Map([...mapping].map(([col, src]) => [col, header.indexOf(src.trim())]));
        buf += [...fields, ...RESULT_COLUMNS].map(quote).join(delimiter) + eol;
        continue;
      }
      const get = (c: ContactColumn): string => {
        const i = index!.get(c);
        return i !== undefined && i >= 0 ? (fields[i] ?? '').trim() : '';
      };
      buf += [...fields, ...added(keysOf(get), rec.line)].map(quote).join(delimiter) + eol;
      if (buf.length > 1 << 16) {
        yield enc(buf);
        buf = '';
      }
    }
  if (buf) yield enc(buf);
}

async function* jsonlResults(
  bytes: AsyncIterable<Uint8Array>,
  encoding: string,
  mapping: ReadonlyMap<ContactColumn, string>,
  added: Added,
): AsyncGenerator<Uint8Array> {
  let buf = '';
  for await (const l of lines(decode(bytes, encoding))) {
    if (l.text.trim() === '') continue;
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(l.text) as Record<string, unknown>;
    } catch {
      continue;
    }
    const get = (c: ContactColumn): string => {
      const src = mapping.get(c);
      const v = src !== undefined ? rec[src] : undefined;
      return v === undefined || v === null ? '' : String(v).trim();
    };
    const [status, code, label, date, medium, broadcast] = added(keysOf(get), l.line);
    buf += `${JSON.stringify({ ...rec, dmc: { status, code, label, date, medium, broadcast } })}\n`;
    if (buf.length > 1 << 16) {
      yield Buffer.from(buf, 'utf8');
      buf = '';
    }
  }
  if (buf) yield Buffer.from(buf, 'utf8');
}
