/**
 * Daily reports against annex 5.4 of the guide (issue #10): every label as
 * the guide prints it, labels split over two lines by the OCR joined
 * (lines 10961-10963, 11010-11012), labels with a detail matched as patterns
 * (lines 11121-11122).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CRA_CODES } from '../../src/formats/cra-codes.js';
import { codesForRecord, matchLabel } from '../../src/formats/cra.js';

const FIXTURE_FIRST_LINE = 10916;
const fixture = readFileSync(new URL('../fixtures/guide/annex-5.4.txt', import.meta.url), 'utf8')
  .split('\n')
  .slice(1);
const guideLine = (n: number): string => fixture[n - FIXTURE_FIRST_LINE] ?? '';

describe('annex 5.4 (CRA codes)', () => {
  it('the committed table is what the extractor reads from the guide, all 174 codes', async () => {
    // @ts-expect-error: plain ESM script without types
    const { extract } = (await import('../../scripts/extract-cra-codes.mjs')) as {
      extract(t: string): { code: string; label: string; description: string; line: number }[];
    };
    const text = [...Array.from({ length: FIXTURE_FIRST_LINE - 1 }, () => ''), ...fixture].join('\n') + '\n## 5.5 end';
    const rows = extract(text);
    expect(rows).toHaveLength(174);
    expect(rows.map((r) => [r.code, r.label, r.description, r.line])).toEqual(CRA_CODES.map((c) => [c.code, c.label, c.description, c.line]));
  });

  it('every label and line cites the guide: the code and the label start the line it names', () => {
    for (const c of CRA_CODES) {
      const [code, label] = guideLine(c.line).split('\t');
      expect(code, `${c.code} at line ${c.line}`).toBe(c.code);
      expect(c.label.startsWith(label!.trim()), `${c.code}: '${c.label}' from '${label}'`).toBe(true);
    }
  });

  it('"Service temporairement indisponible" is one label (lines 10961-10963, 11010-11012): at a mobile number it is the SMS or MMS code', () => {
    expect(CRA_CODES.find((c) => c.code === 'CRA_SMS_TEMPORARY')!.label).toBe('Service temporairement indisponible');
    expect(CRA_CODES.find((c) => c.code === 'CRA_MMS_TEMPORARY')!.label).toBe('Service temporairement indisponible');
    expect(
      codesForRecord('Service temporairement indisponible', '+33612345678')
        .map((c) => c.code)
        .sort(),
    ).toEqual(['CRA_MMS_TEMPORARY', 'CRA_SMS_TEMPORARY']);
    expect(codesForRecord('Service temporairement indisponible', 'a@b.fr').map((c) => c.code)).toEqual(['CRA_EMAIL_TEMPORARY']);
  });

  it('labels with a detail are patterns (lines 11121-11122) and give their detail', () => {
    expect(matchLabel('INFO1 manquant(s)')).toMatchObject({ codes: [{ code: 'CRA_MISSINGPARAM{DETAIL}' }], detail: 'INFO1' });
    expect(matchLabel('Coordonnées invalides PHONENUMBER1')).toMatchObject({ codes: [{ code: 'CRA_NOADDRESS{DETAIL}' }], detail: 'PHONENUMBER1' });
    expect(matchLabel('coordonnées INVALIDES email1').detail).toBe('email1');
    expect(matchLabel('Reçu').detail).toBeUndefined();
    expect(matchLabel("Quelque chose d'inconnu").codes).toEqual([]);
  });
});

describe('English labels of En_gb broadcasts (issue #19.5)', () => {
  it('are read back as their codes: success is not 0 % on an English report', () => {
    expect(codesForRecord('Received', '+33612345678').map((c) => c.code)).toEqual(['CRA_SMS_RECEIVED']);
    expect(codesForRecord('Call completed', '+33140000000').map((c) => c.code)).toEqual(['CRA_VOCAL_ENDED']);
    expect(codesForRecord('Opened', 'a@b.fr').map((c) => c.code)).toEqual(['CRA_EMAIL_READ']);
    // A French label keeps its French meaning.
    expect(matchLabel('Reçu').codes.map((c) => c.code)).toContain('CRA_SMS_RECEIVED');
  });
});
