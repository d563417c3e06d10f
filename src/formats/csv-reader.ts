/**
 * Reads a CSV trigger (`#COMMAND` / `#CONTACTS` / `#END`, guide §3.2.4.2,
 * lines 9044-9060) from bytes: the head (command and header) at once, the
 * contacts as a stream, so memory stays flat whatever the file's size.
 *
 * Encoding: a declared `encoding:` line wins, then a BOM, else ISO-8859-15
 * (the platform's default); a file that declares nothing but is valid UTF-8
 * with non-ASCII bytes is read as UTF-8 with a warning, since the platform
 * would read it as ISO-8859-15 and show mojibake.
 */
import { CommandAssembler } from './command-assembler.js';
import { lookupColumn, type ContactColumn } from './contacts.js';
import { looksUtf8, normalizeEncodingName } from './encoding.js';
import { lookupParam } from './params.js';
import { finding, type FindingList } from './findings.js';
import type { ReadContact, TriggerHead } from './model.js';
import { decode, boundedLines, sniff, type ByteSource, type TextLine } from './text-input.js';

export interface ReadOptions {
  /** Read with this encoding whatever the file declares (iconv-lite name). */
  readonly encoding?: string;
  /** The longest line (or XML text between tags) taken, in characters; default MAX_LINE_LENGTH (1 MiB). */
  readonly maxLineLength?: number;
  /** `email`: the command lines of an email trigger (its own table's order, guide lines 9962-9987). */
  readonly channel?: 'file' | 'email';
}

/** A trigger being read: its head now, its contacts as they come. */
export interface TriggerReading {
  readonly head: TriggerHead;
  readonly contacts: AsyncIterable<ReadContact>;
}

const ENCODING_LINE = /^[ \t]*encoding[ \t]*:[ \t]*"?([^"\r\n]*?)"?[ \t]*$/im;

/** Chooses how to decode a CSV trigger from its first bytes. */
export function csvEncoding(sample: Buffer, complete: boolean, findings: FindingList, forced?: string): string {
  if (forced) return forced;
  if (sample[0] === 0xef && sample[1] === 0xbb && sample[2] === 0xbf) return 'utf8';
  const headText = sample.toString('latin1').split('#CONTACTS')[0] ?? '';
  const m = ENCODING_LINE.exec(headText);
  if (m) {
    const declared = m[1] ?? '';
    const name = normalizeEncodingName(declared);
    if (name) return name;
    findings.add(
      finding('E_UNKNOWN_ENCODING', `encoding '${declared}' is not one this tool knows: write UTF8 or ISO8859-15 (read as ISO-8859-15 meanwhile)`, {
        field: 'encoding',
      }),
    );
    return 'iso-8859-15';
  }
  const u = looksUtf8(sample, complete);
  if (u.valid && u.nonAscii) {
    findings.add(
      finding(
        'W_UNDECLARED_UTF8',
        'the file declares no encoding but its bytes are UTF-8: the platform reads ISO-8859-15 and would show é as Ã©. Add the line encoding:UTF8 after #COMMAND, or convert it (dmc-trigger convert)',
        { field: 'encoding' },
      ),
    );
    return 'utf8';
  }
  return 'iso-8859-15';
}

/** Reads a CSV trigger. Findings go to `findings`; nothing is thrown for bad content. */
export async function readCsvTrigger(source: ByteSource, findings: FindingList, opts: ReadOptions = {}): Promise<TriggerReading> {
  const { sample, complete, chunks } = await sniff(source);
  const encoding = csvEncoding(sample, complete, findings, opts.encoding);
  const it = boundedLines(decode(chunks, encoding), findings, opts.maxLineLength)[Symbol.asyncIterator]();
  const next = async (): Promise<TextLine | undefined> => {
    const r = await it.next();
    return r.done ? undefined : r.value;
  };
  const checkDecoded = (l: TextLine): void => {
    if (encoding === 'utf8' && l.text.includes('\uFFFD')) {
      findings.add(finding('E_DECODE', 'this line is not valid UTF-8: fix the bytes, or declare the real encoding (encoding:ISO8859-15)', { line: l.line }));
    }
  };

  const asm = new CommandAssembler(findings, opts.channel ?? 'file');
  let first = await next();
  while (first && first.text.trim() === '') first = await next();
  const columns: ContactColumn[] = [];
  const base = { format: 'csv' as const, encoding, columns };
  if (!first) {
    findings.add(finding('E_EMPTY_FILE', 'the file is empty: a trigger starts with #COMMAND'));
    return { head: { ...base, command: asm.result(), hasContactsPart: false, lines: asm.lines }, contacts: empty() };
  }
  if (first.text.trim().toUpperCase() !== '#COMMAND') {
    const colon = first.text.indexOf(':');
    const isParam = colon > 0 && lookupParam(first.text.slice(0, colon).trim()) !== undefined;
    const hint = !isParam && first.text.includes(';') ? ' This looks like an SI export: make a trigger of it with dmc-trigger build --contacts' : '';
    findings.add(
      finding(
        'E_NO_COMMAND_MARKER',
        `the first line is '${first.text.slice(0, 40)}', not #COMMAND: a CSV trigger starts with #COMMAND (guide line 9051).${hint}`,
        { line: first.line },
      ),
    );
    if (!isParam) return { head: { ...base, command: asm.result(), hasContactsPart: false, lines: asm.lines }, contacts: empty() };
    asm.param(first.text.slice(0, colon), first.text.slice(colon + 1), first.line, { implicitBlocks: true, stripQuotes: true });
  }

  let hasContactsPart = false;
  let l: TextLine | undefined;
  while ((l = await next())) {
    checkDecoded(l);
    const t = l.text;
    if (t.trim().toUpperCase() === '#CONTACTS') {
      hasContactsPart = true;
      break;
    }
    if (t.trim().toUpperCase() === '#END') {
      findings.add(finding('E_NO_HEADER', '#END comes without #CONTACTS: add #CONTACTS and a header line, or remove #END', { line: l.line }));
      return { head: { ...base, command: asm.result(), hasContactsPart: false, lines: asm.lines }, contacts: empty() };
    }
    if (t.trim() === '') {
      findings.add(finding('W_BLANK_LINE', 'blank line in the command part ignored', { line: l.line }));
      continue;
    }
    const colon = t.indexOf(':');
    if (colon <= 0) {
      findings.add(
        finding('E_BAD_COMMAND_LINE', `'${t.slice(0, 60)}' is not a <name>:<value> line: a value cannot span lines; join it with the previous line`, {
          line: l.line,
        }),
      );
      continue;
    }
    asm.param(t.slice(0, colon), t.slice(colon + 1), l.line, { implicitBlocks: true, stripQuotes: true });
  }

  let headerLine: number | undefined;
  if (hasContactsPart) {
    let h = await next();
    while (h && h.text.trim() === '') {
      findings.add(finding('W_BLANK_LINE', 'blank line before the header ignored', { line: h.line }));
      h = await next();
    }
    if (!h || h.text.trim().toUpperCase() === '#END') {
      findings.add(
        finding('E_NO_HEADER', 'the contacts part has no header line: write the column names (e.g. NAME;FORENAME;PHONENUMBER1) after #CONTACTS', {
          line: h?.line,
        }),
      );
      if (!h) findings.add(finding('E_NO_END_MARKER', 'the file ends without #END: it may be truncated; the platform needs #END as the last line'));
      return { head: { ...base, command: asm.result(), hasContactsPart, lines: asm.lines }, contacts: empty() };
    }
    checkDecoded(h);
    headerLine = h.line;
    parseHeader(h, columns, findings);
  }
  const head: TriggerHead = { ...base, command: asm.result(), hasContactsPart, lines: asm.lines, ...(headerLine !== undefined ? { headerLine } : {}) };
  const width = columns.length;

  async function* contacts(): AsyncGenerator<ReadContact> {
    if (!hasContactsPart) return;
    let ended = false;
    let row: TextLine | undefined;
    while ((row = await next())) {
      const t = row.text;
      if (ended) {
        if (t.trim() !== '') findings.add(finding('W_AFTER_END', 'text after #END is ignored by the platform: remove it', { line: row.line }));
        continue;
      }
      if (t.length < 6 && t.trim().toUpperCase() === '#END') {
        ended = true;
        continue;
      }
      if (t === '') {
        findings.add(finding('W_BLANK_LINE', 'blank line in the contacts ignored', { line: row.line }));
        continue;
      }
      checkDecoded(row);
      const values = t.split(';');
      if (values.length !== width) {
        findings.add(
          finding('E_FIELD_COUNT', `${values.length} field(s) where the header has ${width}: a value may hold a ';' or a field is missing`, { line: row.line }),
        );
      }
      yield { line: row.line, values };
    }
    if (!ended) findings.add(finding('E_NO_END_MARKER', 'the file ends without #END: it may be truncated; the platform needs #END after the last contact'));
  }
  return { head, contacts: contacts() };
}

function parseHeader(h: TextLine, columns: ContactColumn[], findings: FindingList): void {
  const seen = new Set<string>();
  for (const raw of h.text.split(';')) {
    const name = raw.trim();
    const m = lookupColumn(name);
    if (!m) {
      findings.add(
        finding(
          'E_UNKNOWN_COLUMN',
          `unknown column '${name}' in the header: the columns are those of annex 5.3 (NAME, FORENAME, PHONENUMBER1..6, EMAIL1, INFO1..4...)`,
          { line: h.line, field: name },
        ),
      );
      columns.push(name as ContactColumn);
      continue;
    }
    if (m.how === 'case' || name !== raw)
      findings.add(
        finding('W_COLUMN_CASE', `column '${raw}' read as ${m.spec.name}; write it in capitals without spaces`, { line: h.line, field: m.spec.name }),
      );
    if (seen.has(m.spec.name))
      findings.add(finding('E_DUPLICATE_COLUMN', `column ${m.spec.name} appears twice in the header: keep one`, { line: h.line, field: m.spec.name }));
    seen.add(m.spec.name);
    columns.push(m.spec.name);
  }
}

async function* empty(): AsyncGenerator<ReadContact> {}
