/**
 * The records of a delimited export, fast where the data is plain: a line
 * without a double quote is split on the delimiter (the usual export, every
 * line); a line with one is handed to csv-parse (with the same options the
 * whole file had before: quotes relaxed, fields trimmed), joined first with
 * the lines that follow while a quoted value is still open. The result is
 * what csv-parse gives for the whole file (test/unit/csv-records.test.ts
 * compares them on generated files), at a fraction of the cost.
 */
import { finding, type FindingList } from './findings.js';
import { boundedLineBatches, maxLineLength } from './text-input.js';

/** A record and the line it starts on. */
export interface CsvRecord {
  readonly record: string[];
  readonly line: number;
}

/** csv-parse's `trim`: spaces, tabs, CR, LF and form feeds around a value. */
const trimField = (s: string): string => {
  let a = 0;
  let b = s.length;
  while (a < b && isTrim(s.charCodeAt(a))) a++;
  while (b > a && isTrim(s.charCodeAt(b - 1))) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
};
const isTrim = (c: number): boolean => c === 32 || c === 9 || c === 13 || c === 10 || c === 12;

/**
 * Whether a quoted value is still open after `text`, as csv-parse reads it:
 * a quote opens a value only at its start (spaces allowed before it), `""`
 * inside is a quote, a quote elsewhere is a character (relax_quotes).
 */
class QuoteState {
  private inQuotes = false;
  private fieldStart = true;
  constructor(private readonly delimiter: string) {}
  /** Feeds more of the record; true while a quoted value is open. */
  feed(text: string): boolean {
    const d = this.delimiter;
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!;
      if (this.inQuotes) {
        if (c === '"') {
          if (text[i + 1] === '"') i++;
          else this.inQuotes = false;
        }
        continue;
      }
      if (c === d) {
        this.fieldStart = true;
        continue;
      }
      if (this.fieldStart && (c === ' ' || c === '\t')) continue;
      if (this.fieldStart && c === '"') this.inQuotes = true;
      this.fieldStart = false;
    }
    return this.inQuotes;
  }
}

/** Records of `text` (decoded lines); problems (a quoted value never closed, a malformed quoted line) are findings, and the reading goes on. */
export async function* csvRecords(text: AsyncIterable<string>, delimiter: string, findings: FindingList): AsyncGenerator<CsvRecord> {
  for await (const batch of csvRecordBatches(text, delimiter, findings)) yield* batch;
}

/** `csvRecords`, a chunk's records at a time (one await per chunk for the readers of large files). */
export async function* csvRecordBatches(text: AsyncIterable<string>, delimiter: string, findings: FindingList): AsyncGenerator<CsvRecord[]> {
  let open: { text: string; line: number; state: QuoteState } | undefined;
  const maxLine = maxLineLength(); // once per reading, not per line
  // csv-parse loads at the first quoted line: most exports have none.
  let parseSync: typeof import('csv-parse/sync').parse | undefined;
  const quoted = (t: string, line: number): CsvRecord | undefined => {
    try {
      const rows = parseSync!(t, { delimiter, relax_quotes: true, relax_column_count: true, trim: true, skip_empty_lines: false }) as string[][];
      const record = rows[0] ?? [''];
      return { record: rows.length > 1 ? rows.flat() : record, line };
    } catch (e) {
      findings.add(
        finding(
          'E_EXPORT',
          `this line cannot be read as CSV (${(e as Error).message.replace(/^Invalid /, 'invalid ')}): a value with quotes must be "quoted as a whole", with "" for a quote inside`,
          { line },
        ),
      );
      return undefined;
    }
  };
  for await (const batch of boundedLineBatches(text, findings)) {
    const out: CsvRecord[] = [];
    for (const l of batch) {
      if (open) {
        open.text += `\n${l.text}`;
        if (open.text.length > maxLine) {
          findings.add(
            finding('E_EXPORT', `the quoted value opened on line ${open.line} is not closed within ${maxLine} characters: a quote is missing`, {
              line: open.line,
            }),
          );
          if (out.length) yield out;
          return;
        }
        if (open.state.feed(`\n${l.text}`)) continue;
        const r = quoted(open.text, open.line);
        open = undefined;
        if (r) out.push(r);
        continue;
      }
      const t = l.text;
      if (t.indexOf('"') < 0) {
        const fields = t.split(delimiter);
        for (let i = 0; i < fields.length; i++) fields[i] = trimField(fields[i]!);
        // An empty (or blank) line is no record; its number still counts.
        if (fields.length === 1 && fields[0] === '') continue;
        out.push({ record: fields, line: l.line });
        continue;
      }
      parseSync ??= (await import('csv-parse/sync')).parse;
      const state = new QuoteState(delimiter);
      if (state.feed(t)) {
        open = { text: t, line: l.line, state };
        continue;
      }
      const r = quoted(t, l.line);
      if (r && !(r.record.length === 1 && r.record[0] === '')) out.push(r);
    }
    if (out.length) yield out;
  }
  if (open) findings.add(finding('E_EXPORT', `the quoted value opened on line ${open.line} is never closed: a quote is missing`, { line: open.line }));
}
