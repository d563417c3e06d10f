/**
 * The fast CSV path (issue #11) reads what csv-parse reads: seeded random
 * exports (quoted values with delimiters, quotes and line breaks inside,
 * spaces around values, blank lines, CRLF, stray quotes inside plain
 * values) are read by csvRecords and by csv-parse over the whole text with
 * the options the export reader used before; records and their first lines
 * are the same.
 */
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { csvRecords } from '../../src/formats/csv-records.js';
import { FindingList } from '../../src/formats/findings.js';
import { rng } from '../helpers/random.js';

const SEED = Number(process.env['DMC_FUZZ_SEED'] ?? 11);

function field(r: () => number, d: string): string {
  const pick = Math.floor(r() * 10);
  const plain = ['Dupont', 'Élodie', '06 12 34 56 78', '', ' espacé ', 'a"b', "L'Hôte", '€ 12,50'][Math.floor(r() * 8)]!;
  if (pick < 6) return plain.includes(d) ? plain.replaceAll(d, ' ') : plain;
  const inner = [`x${d}y`, 'dit "bonjour"', 'ligne 1\nligne 2', 'a\r\nb', '', ' sp '][Math.floor(r() * 6)]!;
  return `${pick === 9 ? '  ' : ''}"${inner.replace(/"/g, '""')}"`;
}

function exportText(r: () => number, d: string): string {
  const eol = r() < 0.5 ? '\n' : '\r\n';
  const lines = ['Nom', 'Prénom', 'Mobile', 'Note'].join(d);
  const out = [lines];
  const n = 5 + Math.floor(r() * 40);
  for (let i = 0; i < n; i++) {
    if (r() < 0.05) {
      out.push('');
      continue;
    }
    const width = r() < 0.9 ? 4 : 3 + Math.floor(r() * 3);
    out.push(Array.from({ length: width }, () => field(r, d)).join(d));
  }
  return out.join(eol) + (r() < 0.7 ? eol : '');
}

/**
 * csv-parse over the whole text, as the export reader did before: records
 * with their first line, counted as it counted them (a line per record, plus
 * the line breaks inside its values), blank lines skipped but counted.
 */
function reference(text: string, d: string): { record: string[]; line: number }[] {
  const records = parse(text, { delimiter: d, relax_quotes: true, relax_column_count: true, trim: true, skip_empty_lines: false }) as string[][];
  const out: { record: string[]; line: number }[] = [];
  let line = 0;
  for (const record of records) {
    const start = ++line;
    for (const v of record) line += v.split('\n').length - 1;
    if (!(record.length === 1 && record[0] === '')) out.push({ record, line: start });
  }
  return out;
}

async function fast(text: string, d: string): Promise<{ record: string[]; line: number }[]> {
  const out: { record: string[]; line: number }[] = [];
  // Chunks cut anywhere, as a stream cuts them.
  const chunks = (function* () {
    for (let i = 0; i < text.length; i += 37) yield text.slice(i, i + 37);
  })();
  for await (const r of csvRecords(
    (async function* () {
      yield* chunks;
    })(),
    d,
    new FindingList(),
  ))
    out.push({ record: r.record, line: r.line });
  return out;
}

describe(`csvRecords reads what csv-parse reads (seed ${SEED})`, () => {
  it.each([';', ',', '\t'])('delimiter %j: 200 generated exports', async (d) => {
    const r = rng(SEED + d.charCodeAt(0));
    for (let k = 0; k < 200; k++) {
      const text = exportText(r, d);
      const expected = reference(text, d).map((x) => ({ ...x, record: x.record.map((v) => v.replace(/\r\n/g, '\n')) }));
      expect(await fast(text, d), JSON.stringify(text)).toEqual(expected);
    }
  });

  it('a quoted value never closed is reported at the line it opens', async () => {
    const findings = new FindingList();
    const records: number[] = [];
    for await (const rec of csvRecords(
      (async function* () {
        yield 'Nom;Note\nA;"ouvert\nB;x\n';
      })(),
      ';',
      findings,
    ))
      records.push(rec.line);
    expect(records).toEqual([1]);
    expect(findings.list()[0]).toMatchObject({ code: 'E_EXPORT', line: 2 });
  });
});
