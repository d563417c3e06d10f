import fc from 'fast-check';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { COLUMNS, type ContactColumn } from '../../src/formats/contacts.js';
import { isLatin9 } from '../../src/formats/encoding.js';
import type { TriggerCommand } from '../../src/formats/model.js';
import { collect, encode, read } from '../helpers/trigger.js';

const TEXT_COLS: ContactColumn[] = ['NAME', 'FORENAME', 'PHONENUMBER1', 'EXTERNALREFERENCE', 'INFO1'];
// Values as an SI might hold them: any Unicode but the characters the format forbids, no surrounding spaces.
// Without what the writer refuses by design (tested on their own): controls (C0, C1), line separators, non-characters.
const value = (max: number) =>
  fc.string({ unit: 'grapheme', maxLength: max }).map((s) => s.replace(/[;\r\n\u0000-\u001f\u007f-\u009f\u2028\u2029\ufdd0-\ufdef\ufffe\uffff|]/g, '').trim());
const latin9Value = (max: number) =>
  value(max).map((s) =>
    [...s]
      .filter((c) => isLatin9(c) && c !== '\u00A0')
      .join('')
      .trim(),
  );
const phone = fc.stringMatching(/^0[67]\d{8}$/);

function command(text: string, name: string): TriggerCommand {
  return {
    serviceId: '12345678',
    spaceId: '1',
    broadcastName: name || 'x',
    scenarioId: '1',
    callPlanningId: '2',
    messages: [{ customizableId: '1', multimediaType: 'TXT', text: text || 'x' }],
  };
}

async function roundTrip(cmd: TriggerCommand, rows: string[][], encoding: 'iso-8859-15' | 'utf8') {
  const csv = await encode(cmd, TEXT_COLS, rows, { encoding });
  expect(csv.errors, JSON.stringify(csv.findings)).toBe(0);
  const r1 = await read(csv.bytes, 'csv');
  const xml = await encode(
    r1.reading.head.command,
    r1.reading.head.columns,
    (await collect(r1.reading.contacts)).map((c) => c.values),
    { encoding, format: 'xml' },
  );
  expect(xml.errors).toBe(0);
  const r2 = await read(xml.bytes, 'xml');
  const back = await encode(
    r2.reading.head.command,
    r2.reading.head.columns,
    (await collect(r2.reading.contacts)).map((c) => c.values),
    { encoding },
  );
  return { csv: csv.bytes, back: back.bytes, command: r2.reading.head.command };
}

describe('property: writer and parser agree', () => {
  it('CSV → model → XML → model → CSV is byte-identical for any ISO-8859-15 text', async () => {
    await fc.assert(
      fc.asyncProperty(
        latin9Value(200),
        latin9Value(60),
        fc.array(fc.tuple(latin9Value(40), latin9Value(40), phone, latin9Value(20), latin9Value(200)), { minLength: 1, maxLength: 20 }),
        async (text, name, rows) => {
          const { csv, back, command: c } = await roundTrip(command(text, name), rows, 'iso-8859-15');
          expect(back.equals(csv)).toBe(true);
          expect(c.messages?.[0]?.text).toBe((text || 'x').trim());
        },
      ),
      { numRuns: 150 },
    );
  });

  it('the same holds in UTF-8 for any Unicode text (emoji, CJK, combining marks)', async () => {
    await fc.assert(
      fc.asyncProperty(
        value(200),
        fc.array(fc.tuple(value(40), value(40), phone, value(20), value(200)), { minLength: 1, maxLength: 10 }),
        async (text, rows) => {
          const { csv, back } = await roundTrip(command(text, 'n'), rows, 'utf8');
          expect(back.equals(csv)).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('ISO-8859-15 output either encodes every character exactly or refuses the value: never a silent ?', async () => {
    await fc.assert(
      fc.asyncProperty(value(60), async (name) => {
        const out = await encode(command('x', 'n'), TEXT_COLS, [[name, 'p', '0612345678', 'r', 'i']]);
        if (out.errors === 0) {
          const decoded = iconv.decode(out.bytes, 'iso-8859-15');
          const row = decoded.split('\n').find((l) => l.endsWith(';p;0612345678;r;i'))!;
          const written = row.slice(0, row.length - ';p;0612345678;r;i'.length);
          const transliterated = out.findings.some((f) => f.code === 'W_TRANSLITERATED');
          if (!transliterated) expect(written).toBe(name);
        } else {
          expect(out.findings.every((f) => f.code === 'E_UNENCODABLE' && f.field === 'NAME')).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('no value can inject a line into the file: the number of lines is fixed by the rows', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ maxLength: 30 }), { minLength: 5, maxLength: 5 }), async (vals) => {
        const out = await encode(command('x', 'n'), TEXT_COLS, [[vals[0]!, vals[1]!, '0612345678', vals[3]!, vals[4]!]], {
          encoding: 'utf8',
          replaceForbidden: true,
        });
        if (out.errors > 0) return; // refused values (controls) are not written
        const lines = out.bytes.toString('utf8').split('\n');
        expect(lines.filter((l) => l === '#END')).toHaveLength(1);
        expect(lines.filter((l) => l === '#CONTACTS')).toHaveLength(1);
        expect(lines[lines.indexOf('#CONTACTS') + 2]!.split(';')).toHaveLength(TEXT_COLS.length);
      }),
      { numRuns: 300 },
    );
  });

  it('every column of the table survives a CSV and an XML round trip', async () => {
    const cols = COLUMNS.map((c) => c.name);
    const row = cols.map((c) =>
      c.startsWith('COUNTRY') || c === 'FAXCOUNTRYCODE'
        ? '33'
        : c.startsWith('PHONE') || c === 'FAXNUMBER'
          ? '0612345678'
          : c === 'EMAIL1'
            ? 'a@b.fr'
            : c === 'OS'
              ? 'android'
              : `v-${c}`,
    );
    const csv = await encode(command('x', 'n'), cols, [row]);
    const x = await encode(command('x', 'n'), cols, [row], { format: 'xml' });
    expect(csv.errors + x.errors).toBe(0);
    const rc = await read(csv.bytes);
    const rx = await read(x.bytes, 'xml');
    expect(rc.reading.head.columns).toEqual(cols);
    expect(rx.reading.head.columns).toEqual(cols);
    expect((await collect(rx.reading.contacts))[0]!.values).toEqual(row);
  });
});
