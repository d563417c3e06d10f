import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { checkValue, detectEncoding, isLatin9, looksUtf8, normalizeEncodingName } from '../../src/formats/encoding.js';
import { COLS, encode, SMS } from '../helpers/trigger.js';

const latin9 = { encoding: 'iso-8859-15', replaceForbidden: false } as const;

describe('ISO-8859-15 output bytes', () => {
  it('writes € as 0xA4, œ as 0xBD, Œ as 0xBC, and accented letters as Latin-1', async () => {
    const { bytes, errors } = await encode(SMS, COLS, [['Œuvre', 'Cœur', '0612345678', '33', '20 € é']]);
    expect(errors).toBe(0);
    const row = bytes.subarray(bytes.indexOf(Buffer.from('\n\xBC', 'latin1')) + 1);
    expect(row[0]).toBe(0xbc);
    expect([...bytes]).toContain(0xbd);
    expect([...bytes]).toContain(0xa4);
    expect([...bytes]).toContain(0xe9);
    expect(bytes.includes(Buffer.from('?'))).toBe(false);
    expect(iconv.decode(bytes, 'iso-8859-15')).toContain('Œuvre;Cœur;0612345678;33;20 € é');
  });

  it('never writes a ? for a character ISO-8859-15 cannot hold: an emoji is an error naming line and field', async () => {
    const { findings, errors } = await encode(SMS, COLS, [{ values: ['Dupont', 'Pierre 😀', '0612345678', '33', 'R1'], line: 7 }]);
    expect(errors).toBe(1);
    expect(findings[0]).toMatchObject({ code: 'E_UNENCODABLE', line: 7, field: 'FORENAME' });
    expect(findings[0]!.message).toMatch(/U\+1F600.*--encoding utf8/);
  });

  it('refuses CJK text in the command part, naming the parameter', async () => {
    const { findings } = await encode({ ...SMS, broadcastName: '通知' }, COLS, [['a', 'b', '0612345678', '33', 'r']]);
    expect(findings.find((f) => f.code === 'E_UNENCODABLE')).toMatchObject({ field: 'broadcastName' });
  });

  it('transliterates typographic punctuation with one warning per field', async () => {
    const { bytes, findings, errors } = await encode(
      { ...SMS, messages: [{ customizableId: '10', multimediaType: 'TXT', text: 'L’offre « spéciale » – “vite”… 10\u00A0€' }] },
      COLS,
      [['O’Brien', 'Anne', '0612345678', '33', 'r']],
    );
    expect(errors).toBe(0);
    const text = iconv.decode(bytes, 'iso-8859-15');
    expect(text).toContain(`text:L'offre « spéciale » - "vite"... 10 €`);
    expect(text).toContain("O'Brien;Anne");
    const w = findings.filter((f) => f.code === 'W_TRANSLITERATED');
    expect(w.map((f) => f.field).sort()).toEqual(['NAME', 'messages[0].text']);
  });

  it('with --encoding utf8 keeps every character and declares encoding:UTF8', async () => {
    const { bytes, errors } = await encode(SMS, COLS, [['Dupont', 'Pierre 😀 通知', '0612345678', '33', 'r']], { encoding: 'utf8' });
    expect(errors).toBe(0);
    const text = bytes.toString('utf8');
    expect(text.split('\n')[1]).toBe('encoding:UTF8');
    expect(text).toContain('Pierre 😀 通知');
  });

  it('declares encoding="UTF-8" in XML written as UTF-8', async () => {
    const { bytes } = await encode(SMS, COLS, [['D', 'P', '0612345678', '33', 'r']], { encoding: 'utf8', format: 'xml' });
    expect(bytes.toString('utf8')).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>/);
  });
});

describe('forbidden characters', () => {
  it('refuses ; in a contact field with row and column, and the fix', async () => {
    const { findings } = await encode(SMS, COLS, [{ values: ['Dupont; Durand', 'P', '0612345678', '33', 'r'], line: 3 }]);
    expect(findings[0]).toMatchObject({ code: 'E_FORBIDDEN_CHAR', line: 3, field: 'NAME' });
    expect(findings[0]!.message).toMatch(/--replace-forbidden/);
  });

  it('refuses CR or LF in any value, so no value can inject #END or a parameter', async () => {
    const { findings } = await encode({ ...SMS, description: 'a\n#CONTACTS' }, COLS, [['a\r\n#END', 'P', '0612345678', '33', 'r']]);
    expect(
      findings
        .filter((f) => f.code === 'E_FORBIDDEN_CHAR')
        .map((f) => f.field)
        .sort(),
    ).toEqual(['NAME', 'description']);
  });

  it('with replaceForbidden replaces and reports each replacement', async () => {
    const { bytes, findings, errors } = await encode(SMS, COLS, [['Dupont; Durand', 'line1\r\nline2', '0612345678', '33', 'r']], { replaceForbidden: true });
    expect(errors).toBe(0);
    expect(iconv.decode(bytes, 'latin1')).toContain('Dupont, Durand;line1 line2;');
    expect(findings.filter((f) => f.code === 'W_REPLACED_CHAR')).toHaveLength(2);
  });

  it('allows ; in a command value (only contact fields are ;-separated)', () => {
    expect(checkValue('a; b', 'command', latin9)).toEqual({ ok: true, value: 'a; b' });
    expect(checkValue('a; b', 'contact', latin9).ok).toBe(false);
  });

  it('refuses control characters', () => {
    const r = checkValue('a\u0001b', 'command', latin9);
    expect(r.ok).toBe(false);
  });
});

describe('encoding names and detection', () => {
  it('knows the declared names of the guide and common aliases', () => {
    expect(normalizeEncodingName('UTF8')).toBe('utf8');
    expect(normalizeEncodingName('ISO8859-1')).toBe('iso-8859-1');
    expect(normalizeEncodingName('ISO8859-15')).toBe('iso-8859-15');
    expect(normalizeEncodingName('latin9')).toBe('iso-8859-15');
    expect(normalizeEncodingName('cp1252')).toBe('windows-1252');
    expect(normalizeEncodingName('klingon')).toBeUndefined();
  });

  it('tells ISO-8859-15 apart: the eight Latin-1 code points it replaced are not Latin-9', () => {
    expect(isLatin9('€ŠšŽžŒœŸ')).toBe(true);
    for (const c of '¤¦¨´¸¼½¾') expect(isLatin9(c)).toBe(false);
  });

  it('detects UTF-8 (with and without BOM), Windows-1252 and ISO-8859-15 exports', () => {
    expect(detectEncoding(Buffer.from('\uFEFFNom;Prénom', 'utf8'), true).encoding).toBe('utf8');
    expect(detectEncoding(Buffer.from('Nom;Prénom', 'utf8'), true).encoding).toBe('utf8');
    expect(detectEncoding(iconv.encode('Nom;Prénom;20 €', 'windows-1252'), true).encoding).toBe('windows-1252');
    expect(detectEncoding(iconv.encode('Nom;Cœur;20 €', 'iso-8859-15'), true).encoding).toBe('iso-8859-15');
    expect(detectEncoding(iconv.encode('Nom;Prénom', 'iso-8859-1'), true).encoding).toBe('windows-1252');
  });

  it('accepts a sample cut inside a multi-byte character when the sample is partial', () => {
    const b = Buffer.from('abcé', 'utf8');
    expect(looksUtf8(b.subarray(0, b.length - 1), false).valid).toBe(true);
    expect(looksUtf8(b.subarray(0, b.length - 1), true).valid).toBe(false);
  });
});

describe('the fast ISO-8859-15 encoder', () => {
  it('gives the same bytes as iconv-lite for every character of ISO-8859-15', async () => {
    const { encodeLatin9 } = await import('../../src/formats/encoding.js');
    const all = iconv.decode(Buffer.from(Array.from({ length: 256 }, (_, i) => i)), 'iso-8859-15');
    expect(all).toHaveLength(256);
    expect(encodeLatin9(all).equals(iconv.encode(all, 'iso-8859-15'))).toBe(true);
    expect([...encodeLatin9('€ŠšŽžŒœŸ')]).toEqual([0xa4, 0xa6, 0xa8, 0xb4, 0xb8, 0xbc, 0xbd, 0xbe]);
  });
});
