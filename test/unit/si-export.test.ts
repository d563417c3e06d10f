import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { FindingList } from '../../src/formats/findings.js';
import { normalizeHeader, parseMapping, readSiExport } from '../../src/formats/si-export.js';
import { collect } from '../helpers/trigger.js';

async function open(bytes: Buffer | string, opts: Parameters<typeof readSiExport>[2] = {}) {
  const findings = new FindingList(1000);
  const r = await readSiExport([typeof bytes === 'string' ? Buffer.from(bytes) : bytes], findings, opts);
  const rows = await collect(r.rows);
  return { r, rows, findings: findings.list() };
}

describe('SI exports', () => {
  it('detects ; , and tab delimiters', async () => {
    for (const d of [';', ',', '\t']) {
      const { r, rows } = await open(['Nom', 'Mobile'].join(d) + '\n' + ['Dupont', '0612345678'].join(d) + '\n');
      expect(r.delimiter).toBe(d);
      expect(rows[0]!.values).toEqual(['Dupont', '0612345678']);
    }
  });

  it('reads RFC 4180 quotes: delimiters, doubled quotes and line breaks inside a value', async () => {
    const { rows } = await open('Nom,Mobile,Info1\n"Lefèvre, née Roux",0612345678,"dit ""Bob"""\n');
    expect(rows[0]!.values).toEqual(['Lefèvre, née Roux', '0612345678', 'dit "Bob"']);
  });

  it('maps French and English header aliases, ignoring case, accents and punctuation', async () => {
    const { r } = await open('Prénom;NOM;Téléphone;E-mail;Référence;Indicatif;Fax;Info 3\nP;N;0612345678;a@b.fr;R;33;0123456789;x\n');
    expect(Object.fromEntries(r.mapping)).toEqual({
      NAME: 'NOM',
      FORENAME: 'Prénom',
      PHONENUMBER1: 'Téléphone',
      COUNTRYCODE1: 'Indicatif',
      FAXNUMBER: 'Fax',
      EMAIL1: 'E-mail',
      EXTERNALREFERENCE: 'Référence',
      INFO3: 'Info 3',
    });
    expect(r.columns).toEqual(['NAME', 'FORENAME', 'PHONENUMBER1', 'COUNTRYCODE1', 'FAXNUMBER', 'EMAIL1', 'EXTERNALREFERENCE', 'INFO3']);
    expect(normalizeHeader('Numéro de téléphone')).toBe('numerodetelephone');
  });

  it('applies an explicit mapping before aliases and warns about unmapped columns', async () => {
    const { map } = parseMapping(['PHONENUMBER1=GSM perso,info1=Colis']);
    const { r, rows, findings } = await open('Tel fixe;GSM perso;Colis;Ville\n0123456789;0612345678;PK1;Lyon\n', { map });
    expect(Object.fromEntries(r.mapping)).toEqual({ PHONENUMBER1: 'GSM perso', PHONENUMBER2: 'Tel fixe', INFO1: 'Colis' });
    expect(rows[0]!.values).toEqual(['0612345678', '0123456789', 'PK1']);
    expect(findings.filter((f) => f.code === 'W_UNMAPPED_COLUMN').map((f) => f.field)).toEqual(['Ville']);
  });

  it('rejects a mapping that names no column and a bad mapping spec', async () => {
    expect(parseMapping(['PHONE=Mobile']).problems[0]).toMatch(/not a DMC column/);
    expect(parseMapping(['PHONENUMBER1']).problems[0]).toMatch(/COLUMN=SourceHeader/);
    const { findings } = await open('Nom;Mobile\nD;0612345678\n', { map: { EMAIL1: 'Courriel' } });
    expect(findings.find((f) => f.code === 'E_MAPPING')?.message).toMatch(/names no column.*"Nom", "Mobile"/);
  });

  it('says which column to map when no address column is found', async () => {
    const { findings } = await open('Nom;Ville\nD;Lyon\n');
    expect(findings.find((f) => f.code === 'E_MAPPING')?.message).toMatch(/--map PHONENUMBER1=Nom/);
  });

  it('reads Windows-1252, ISO-8859-1 and ISO-8859-15 exports, detected or given', async () => {
    const text = 'Nom;Prénom;Mobile\nCœur;Zoé 20 €;0612345678\n';
    const w = await open(iconv.encode(text, 'windows-1252'));
    expect(w.r.encoding).toBe('windows-1252');
    expect(w.rows[0]!.values).toEqual(['Cœur', 'Zoé 20 €', '0612345678']);
    const l9 = await open(iconv.encode(text, 'iso-8859-15'));
    expect(l9.r.encoding).toBe('iso-8859-15');
    expect(l9.rows[0]!.values).toEqual(['Cœur', 'Zoé 20 €', '0612345678']);
    const l1 = await open(iconv.encode('Nom;Mobile\nZoé;0612345678\n', 'iso-8859-1'), { encoding: 'latin1' });
    expect(l1.rows[0]!.values).toEqual(['Zoé', '0612345678']);
  });

  it('reads UTF-8 with a BOM, and gives export line numbers', async () => {
    const { r, rows } = await open('\uFEFFNom;Mobile\r\n\r\nA;0612345678\r\nB;0698765432\r\n');
    expect(r.encoding).toBe('utf8');
    expect(r.mapping.get('NAME')).toBe('Nom');
    expect(rows.map((x) => x.line)).toEqual([3, 4]);
  });

  it('reports rows with more fields than the header with their line, on the row (partial acceptance leaves it out)', async () => {
    const { rows } = await open('Nom;Mobile\nA;0612345678;extra\n');
    expect(rows[0]!.problem).toMatchObject({ code: 'E_EXPORT', line: 2 });
  });

  it('reads JSON Lines, mapping keys like headers', async () => {
    const { r, rows, findings } = await open('{"nom":"Dupont","mobile":"0612345678","id":12}\n\n{"nom":"Durand","mobile":"0698765432","id":13}\nnot json\n');
    expect(r.format).toBe('jsonl');
    expect(r.columns).toEqual(['NAME', 'PHONENUMBER1', 'EXTERNALREFERENCE']);
    expect(rows.map((x) => x.values)).toEqual([
      ['Dupont', '0612345678', '12'],
      ['Durand', '0698765432', '13'],
    ]);
    expect(findings.find((f) => f.code === 'E_EXPORT')).toMatchObject({ line: 4 });
  });

  it('refuses an empty export and binary garbage clearly', async () => {
    expect((await open('')).findings[0]?.message).toMatch(/empty/);
    expect((await open(Buffer.from([0x50, 0x4b, 3, 4, 0, 0, 0xff, 0xfe, 0]))).findings[0]?.message).toMatch(/binary file/);
  });
});
