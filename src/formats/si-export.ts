/**
 * Reads contacts from the exports information systems produce: CSV with `;`,
 * `,` or tab (detected), RFC 4180 quotes (csv-parse), UTF-8 with or without
 * BOM, Windows-1252, ISO-8859-1 or ISO-8859-15 (detected or given), and JSON
 * Lines. Source columns are mapped to DMC columns by an explicit mapping and
 * by common aliases (case, accents and punctuation ignored). Values are
 * trimmed; phone numbers are otherwise kept as given.
 */
import { csvRecordBatches, type CsvRecord } from './csv-records.js';
import { COLUMNS, ADDRESS_COLUMNS, lookupColumn, type ContactColumn } from './contacts.js';
import { detectEncoding, normalizeEncodingName } from './encoding.js';
import { finding, type FindingList } from './findings.js';
import { decode, boundedLines, sniff, type ByteSource } from './text-input.js';
import { printable } from './printable.js';
import type { SourcedRow } from './trigger-encoder.js';

/** Aliases of SI header names, normalized (lower case, no accents, letters and digits only). */
const ALIASES: Readonly<Record<string, ContactColumn>> = (() => {
  const t: Record<string, ContactColumn> = {};
  const add = (col: ContactColumn, ...names: string[]): void => {
    for (const n of names) t[n] = col;
  };
  add('NAME', 'nom', 'name', 'lastname', 'nomdefamille', 'nomfamille', 'surname', 'familyname', 'raisonsociale', 'societe', 'company');
  add('FORENAME', 'prenom', 'firstname', 'forename', 'givenname');
  add(
    'PHONENUMBER1',
    'mobile',
    'portable',
    'telephone',
    'tel',
    'phone',
    'gsm',
    'numero',
    'numerotelephone',
    'telephonemobile',
    'telmobile',
    'mobilephone',
    'phonenumber',
    'cellulaire',
    'telephone1',
    'tel1',
    'phone1',
    'mobile1',
    'numeromobile',
    'numeroportable',
    'msisdn',
    'cellphone',
  );
  add('PHONENUMBER2', 'telephone2', 'tel2', 'phone2', 'mobile2', 'fixe', 'telephonefixe', 'telfixe');
  add('PHONENUMBER1', 'telephoneportable', 'telportable', 'portable1', 'telephonecellulaire', 'mobilenumber', 'cell', 'cellular', 'handy');
  add('PHONENUMBER2', 'telephonedomicile', 'teldomicile', 'domicile', 'telephonebureau', 'telbureau', 'telephonefixe2', 'homephone', 'landline');
  add('COUNTRYCODE1', 'indicatif', 'countrycode', 'indicatifpays', 'prefixe', 'indicatiftelephone', 'codepays', 'dialcode');
  add('FAXCOUNTRYCODE', 'indicatiffax', 'faxcountrycode', 'faxindicatif', 'indicatifpaysfax');
  add('FAXNUMBER', 'fax', 'telecopie', 'numerofax', 'faxnumber', 'telecopieur', 'telfax', 'telephonefax');
  add('EMAIL1', 'emailpro', 'emailprofessionnel', 'adresseelectronique', 'mailaddress');
  add('EMAIL1', 'email', 'mail', 'courriel', 'adressemail', 'adresseemail', 'adressemel', 'mel', 'emailaddress', 'email1', 'adressecourriel');
  add(
    'EXTERNALREFERENCE',
    'reference',
    'ref',
    'id',
    'identifiant',
    'externalreference',
    'refclient',
    'referenceclient',
    'numeroclient',
    'matricule',
    'codeclient',
    'clientid',
    'customerid',
    'externalref',
  );
  return t;
})();

/** Lower case, accents removed, letters and digits only: `Prénom` → `prenom`, `E-mail` → `email`. */
export function normalizeHeader(h: string): string {
  return h
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '');
}

/**
 * The words people put around a column's name and that do not change what
 * it is: `Numéro de fax`, `N° de téléphone`, `Adresse e-mail`, `Phone
 * number`. Dropped before a second lookup.
 */
const FILLER_WORDS = new Set([
  'numero',
  'num',
  'no',
  'n',
  'nr',
  'nro',
  'de',
  'du',
  'des',
  'd',
  'la',
  'le',
  'les',
  'l',
  'adresse',
  'the',
  'of',
  'number',
  'contact',
  'client',
]);

/** The header without its filler words, normalized: `N° de fax` → `fax`. */
export function headerCore(h: string): string {
  const words = h
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/°/g, ' ')
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  const kept = words.filter((w) => !FILLER_WORDS.has(w));
  return (kept.length ? kept : words).join('');
}

/** The DMC column a source header stands for, by its name or its usual aliases. */
export function aliasOf(header: string): ContactColumn | undefined {
  const n = normalizeHeader(header);
  return ALIASES[n] ?? ALIASES[headerCore(header)] ?? (/^info[1-4]$/.test(n) ? (n.toUpperCase() as ContactColumn) : undefined);
}

export interface ExportOptions {
  /** Encoding of the export (any iconv-lite name or alias); detected when absent. */
  readonly encoding?: string;
  /** Field delimiter; detected among `;`, `,` and tab when absent. */
  readonly delimiter?: string;
  /** DMC column → source column name (e.g. PHONENUMBER1 → "Mobile"). */
  readonly map?: Readonly<Partial<Record<ContactColumn, string>>>;
  /** `csv` or `jsonl`; from the file name or content when absent. */
  readonly format?: 'csv' | 'jsonl';
  /** Name of the export, for messages and format detection. */
  readonly name?: string;
}

export interface ExportReading {
  /** `records`: objects given by a program (readRecords); their line is their position, from 1. */
  readonly format: 'csv' | 'jsonl' | 'records';
  readonly encoding: string;
  readonly encodingReason: string;
  readonly delimiter?: string;
  /** The export's own header line, every field (CSV). */
  readonly headers?: readonly string[];
  /** DMC columns, in annex 5.3 order. */
  readonly columns: ContactColumn[];
  /** DMC column → source column. */
  readonly mapping: ReadonlyMap<ContactColumn, string>;
  readonly rows: AsyncIterable<SourcedRow>;
  /** The same rows a batch at a time, for readers of large exports (either `rows` or `batches` is read, not both). */
  readonly batches?: AsyncIterable<SourcedRow[]>;
}

/** Parses `PHONENUMBER1=Mobile,NAME=Nom` (repeatable `--map` values). */
export function parseMapping(specs: readonly string[]): { map: Partial<Record<ContactColumn, string>>; problems: string[] } {
  const map: Partial<Record<ContactColumn, string>> = {};
  const problems: string[] = [];
  for (const spec of specs.flatMap((s) => s.split(','))) {
    if (spec.trim() === '') continue;
    const eq = spec.indexOf('=');
    if (eq <= 0) {
      problems.push(`'${spec}' is not COLUMN=SourceHeader (e.g. PHONENUMBER1=Mobile)`);
      continue;
    }
    const col = lookupColumn(spec.slice(0, eq).trim());
    if (!col) {
      problems.push(`'${spec.slice(0, eq)}' is not a DMC column (NAME, FORENAME, PHONENUMBER1..6, EMAIL1, INFO1..4...)`);
      continue;
    }
    map[col.spec.name] = spec.slice(eq + 1).trim();
  }
  return { map, problems };
}

/** Maps source headers to DMC columns. Returns source index per DMC column, in annex order. */
export function mapHeaders(
  headers: readonly string[],
  explicit: Readonly<Partial<Record<ContactColumn, string>>>,
  findings: FindingList,
  line = 1,
): { columns: ContactColumn[]; indexes: number[]; mapping: Map<ContactColumn, string> } {
  const byCol = new Map<ContactColumn, number>();
  const used = new Set<number>();
  const norm = headers.map(normalizeHeader);
  for (const [col, src] of Object.entries(explicit) as [ContactColumn, string][]) {
    let i = headers.indexOf(src);
    if (i < 0) i = norm.indexOf(normalizeHeader(src));
    if (i < 0) {
      findings.add(
        finding('E_MAPPING', `the mapping ${col}=${src} names no column of the export (its columns: ${columnsExcerpt(headers)})`, { line, field: col }),
      );
      continue;
    }
    byCol.set(col, i);
    used.add(i);
  }
  headers.forEach((_h, i) => {
    if (used.has(i)) return;
    const direct = lookupColumn(headers[i]!.trim());
    const col = direct?.spec.name ?? aliasOf(headers[i]!);
    if (!col) {
      findings.add(
        finding(
          'W_UNMAPPED_COLUMN',
          `column '${printable(headers[i] ?? '', 40)}' is not mapped to a DMC column and is left out: map it with --map ${shellArg(`INFO2=${printable(headers[i] ?? '', 40)}`)} (or another column) if it is needed`,
          { line, field: headers[i] },
        ),
      );
      return;
    }
    if (byCol.has(col)) {
      findings.add(
        finding(
          'W_UNMAPPED_COLUMN',
          `column '${printable(headers[i] ?? '', 40)}' also looks like ${col}, already taken by '${printable(headers[byCol.get(col)!] ?? '', 40)}': left out; map it explicitly (e.g. --map ${shellArg(`PHONENUMBER2=${printable(headers[i] ?? '', 40)}`)})`,
          { line, field: headers[i] },
        ),
      );
      return;
    }
    byCol.set(col, i);
    used.add(i);
  });
  // A country code beside a fax number and no phone is the fax's (guide line 9326: FAXCOUNTRYCODE).
  const cc = byCol.get('COUNTRYCODE1');
  if (
    cc !== undefined &&
    byCol.has('FAXNUMBER') &&
    !byCol.has('PHONENUMBER1') &&
    !byCol.has('FAXCOUNTRYCODE') &&
    explicit.COUNTRYCODE1 === undefined &&
    lookupColumn(headers[cc]!.trim()) === undefined
  ) {
    byCol.delete('COUNTRYCODE1');
    byCol.set('FAXCOUNTRYCODE', cc);
  }
  const columns = COLUMNS.map((c) => c.name).filter((c) => byCol.has(c));
  if (!columns.some((c) => ADDRESS_COLUMNS.includes(c)) && headers.length > 0) {
    findings.add(
      finding(
        'E_MAPPING',
        `no column of the export is a phone number, fax number or email (its columns: ${columnsExcerpt(headers)}): map one, e.g. --map ${shellArg(`PHONENUMBER1=${printable(headers[0] ?? '', 24)}`)}`,
        { line },
      ),
    );
  }
  return { columns, indexes: columns.map((c) => byCol.get(c)!), mapping: new Map(columns.map((c) => [c, headers[byCol.get(c)!]!])) };
}

/** Quotes an argument for a shell only when it needs it. */
function shellArg(s: string): string {
  return /^[\w=.,:@+-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`;
}

function detectDelimiter(headerLine: string): string {
  const counts = { ';': 0, ',': 0, '\t': 0 } as Record<string, number>;
  let quoted = false;
  for (const ch of headerLine) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && ch in counts) counts[ch]!++;
  }
  const best = Object.entries(counts).sort((a, b) => b[1] - a[1])[0]!;
  return best[1] > 0 ? best[0] : ';';
}

/**
 * Opens an SI export: detects what it is, maps the header, and streams the
 * contacts as rows aligned with `columns`. Problems go to `findings`.
 */
export async function readSiExport(source: ByteSource, findings: FindingList, opts: ExportOptions = {}): Promise<ExportReading> {
  const { sample, complete, chunks } = await sniff(source);
  const noRows = (enc: string, reason: string): ExportReading => ({
    format: 'csv',
    encoding: enc,
    encodingReason: reason,
    columns: [],
    mapping: new Map(),
    rows: (async function* () {})(),
  });
  if (sample.length === 0) {
    findings.add(finding('E_EXPORT', 'the export is empty: it needs a header line and contacts'));
    return noRows('utf8', 'empty');
  }
  const forced = opts.encoding ? normalizeEncodingName(opts.encoding) : undefined;
  if (opts.encoding && !forced) {
    findings.add(finding('E_EXPORT', `unknown encoding '${opts.encoding}': use utf8, windows-1252, iso-8859-1 or iso-8859-15`));
    return noRows('utf8', 'unknown');
  }
  const detected = forced ? { encoding: forced, reason: 'given' } : detectEncoding(sample, complete);
  if (!detected.encoding.startsWith('utf-16') && sample.subarray(0, 8192).includes(0)) {
    findings.add(finding('E_EXPORT', 'the export holds NUL bytes: it is a binary file (a spreadsheet?), not a CSV or JSON Lines export; save it as CSV'));
    return noRows(detected.encoding, detected.reason);
  }
  const format = opts.format ?? (/\.(jsonl|ndjson)$/i.test(opts.name ?? '') || /^\s*\{/.test(sample.subarray(0, 100).toString('latin1')) ? 'jsonl' : 'csv');
  const text = decode(chunks, detected.encoding);
  if (format === 'jsonl') return readJsonLines(text, findings, opts, detected);

  const firstLine =
    sample
      .toString('latin1')
      .replace(/^\uFEFF|^\xEF\xBB\xBF/, '')
      .split(/\r?\n|\r/)[0] ?? '';
  const delimiter = opts.delimiter ?? detectDelimiter(firstLine);
  const batches = csvRecordBatches(text, delimiter, findings)[Symbol.asyncIterator]();
  // The header is the first record; the rest of its batch is the first rows.
  let pending: CsvRecord[] = [];
  let first: CsvRecord | undefined;
  try {
    while (!first) {
      const r = await batches.next();
      if (r.done) break;
      [first, ...pending] = r.value;
    }
  } catch (e) {
    findings.add(finding('E_EXPORT', `the export cannot be read as CSV: ${(e as Error).message}`));
    return noRows(detected.encoding, detected.reason);
  }
  if (!first) {
    findings.add(finding('E_EXPORT', 'the export has no header line'));
    return noRows(detected.encoding, detected.reason);
  }
  const headers = first.record;
  const { columns, indexes, mapping } = mapHeaders(headers, opts.map ?? {}, findings, first.line);
  const width = headers.length;
  const sep = delimiter === '\t' ? '\\t' : delimiter;
  const identity = indexes.length === width && indexes.every((ix, k) => ix === k);
  async function* batchesOfRows(): AsyncGenerator<SourcedRow[]> {
    try {
      for (let batch: CsvRecord[] | undefined = pending; batch;) {
        const out = new Array<SourcedRow>(batch.length);
        for (let b = 0; b < batch.length; b++) {
          const r = batch[b]!;
          // Fewer fields than the header: the rest is empty, as in the guide's own import example (annex 5.3, lines 10880-10882).
          const problem =
            r.record.length > width
              ? finding('E_EXPORT', `${r.record.length} field(s) where the header has ${width}: a value may hold the delimiter '${sep}' without quotes`, {
                  line: r.line,
                })
              : undefined;
          let values: string[];
          // Every column taken, in order (the usual export): the record itself, no copy.
          if (identity && r.record.length === width) values = r.record;
          else {
            values = new Array<string>(indexes.length);
            for (let k = 0; k < indexes.length; k++) values[k] = r.record[indexes[k]!] ?? '';
          }
          out[b] = problem ? { values, line: r.line, raw: r.record, problem } : { values, line: r.line, raw: r.record };
        }
        if (out.length) yield out;
        const next = await batches.next();
        batch = next.done ? undefined : next.value;
      }
    } catch (e) {
      findings.add(finding('E_EXPORT', `the export cannot be read past this point: ${(e as Error).message}`));
    } finally {
      await batches.return?.(undefined);
    }
  }
  const shared = batchesOfRows();
  async function* rows(): AsyncGenerator<SourcedRow> {
    for await (const batch of shared) yield* batch;
  }
  return { format: 'csv', encoding: detected.encoding, encodingReason: detected.reason, delimiter, headers, columns, mapping, rows: rows(), batches: shared };
}

async function readJsonLines(
  text: AsyncIterable<string>,
  findings: FindingList,
  opts: ExportOptions,
  detected: { encoding: string; reason: string },
): Promise<ExportReading> {
  const it = boundedLines(text, findings)[Symbol.asyncIterator]();
  const parseLine = (t: string, line: number): Record<string, unknown> | undefined => {
    try {
      const v: unknown = JSON.parse(t);
      if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
      findings.add(finding('E_EXPORT', 'this JSON Lines record is not an object: write one {"key": value} object per line', { line }));
    } catch (e) {
      findings.add(finding('E_EXPORT', `invalid JSON: ${(e as Error).message}`, { line }));
    }
    return undefined;
  };
  let first: { rec: Record<string, unknown>; line: number } | undefined;
  for (;;) {
    const r = await it.next();
    if (r.done) break;
    if (r.value.text.trim() === '') continue;
    const rec = parseLine(r.value.text, r.value.line);
    if (rec) {
      first = { rec, line: r.value.line };
      break;
    }
  }
  if (!first) {
    findings.add(finding('E_EXPORT', 'the export holds no JSON object'));
    return { format: 'jsonl', encoding: detected.encoding, encodingReason: detected.reason, columns: [], mapping: new Map(), rows: (async function* () {})() };
  }
  const keys = Object.keys(first.rec);
  const { columns, indexes, mapping } = mapHeaders(keys, opts.map ?? {}, findings, first.line);
  const srcKeys = indexes.map((i) => keys[i]!);
  const str = (v: unknown): string => (v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v).trim());
  const firstRec = first;
  async function* rows(): AsyncGenerator<SourcedRow> {
    yield { values: srcKeys.map((k) => str(firstRec.rec[k])), line: firstRec.line };
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      if (r.value.text.trim() === '') continue;
      const rec = parseLine(r.value.text, r.value.line);
      if (rec) yield { values: srcKeys.map((k) => str(rec[k])), line: r.value.line };
    }
  }
  return { format: 'jsonl', encoding: detected.encoding, encodingReason: detected.reason, columns, mapping, rows: rows() };
}

/**
 * The export's column names as an error quotes them: a short, escaped
 * excerpt, never the file's content (a drop folder may hold anything).
 */
export function columnsExcerpt(headers: readonly string[]): string {
  const shown = headers.slice(0, 8).map((h) => JSON.stringify(printable(h, 24)));
  const text = shown.join(', ') + (headers.length > 8 ? `, and ${headers.length - 8} more` : '');
  return text.length > 240 ? `${text.slice(0, 240)}…` : text;
}

/**
 * A contact as a program gives it: its fields by the export's own names
 * (`Mobile`, `Nom`...) or by DMC column. Any object: an `interface Client
 * {...}` is taken as well as a `type` (an index signature is not required).
 */
export type ContactRecord = object;

/**
 * Contacts given as objects (an array, a generator, a database cursor), read
 * like a JSON Lines export: the first object's keys are the header, mapped
 * to DMC columns by the same rules (`opts.map` first).
 */
export async function readRecords(
  records: Iterable<ContactRecord> | AsyncIterable<ContactRecord>,
  findings: FindingList,
  opts: Pick<ExportOptions, 'map'> = {},
): Promise<ExportReading> {
  const it: AsyncIterator<ContactRecord> | Iterator<ContactRecord> =
    Symbol.asyncIterator in records ? records[Symbol.asyncIterator]() : records[Symbol.iterator]();
  const given = { encoding: 'utf-16', encodingReason: 'JavaScript strings' };
  let position = 0;
  const next = async (): Promise<{ rec: ContactRecord; line: number } | undefined> => {
    for (;;) {
      const r = await it.next();
      if (r.done) return undefined;
      position++;
      if (r.value && typeof r.value === 'object' && !Array.isArray(r.value)) return { rec: r.value, line: position };
      findings.add(finding('E_EXPORT', `contact ${position} is not an object: give one {field: value} object per contact`, { line: position }));
    }
  };
  const first = await next();
  if (!first) {
    findings.add(finding('E_EXPORT', 'no contact was given'));
    return { format: 'records', ...given, columns: [], mapping: new Map(), rows: (async function* () {})() };
  }
  const keys = Object.keys(first.rec);
  const { columns, indexes, mapping } = mapHeaders(keys, opts.map ?? {}, findings, first.line);
  const srcKeys = indexes.map((i) => keys[i]!);
  const str = (v: unknown): string =>
    v === null || v === undefined ? '' : v instanceof Date ? v.toISOString() : typeof v === 'object' ? JSON.stringify(v) : String(v).trim();
  async function* rows(): AsyncGenerator<SourcedRow> {
    let r: { rec: ContactRecord; line: number } | undefined = first;
    try {
      while (r) {
        const rec = r.rec;
        yield { values: srcKeys.map((k) => str((rec as Record<string, unknown>)[k])), line: r.line };
        r = await next();
      }
    } finally {
      // Stopped early (too many contacts, an error): the caller's iterator is told, as a for...of would.
      if (r) await it.return?.();
    }
  }
  return { format: 'records', ...given, columns, mapping, rows: rows() };
}
