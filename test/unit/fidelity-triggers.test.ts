/**
 * Trigger files against the guide (issue #10): each test cites the guide
 * line it enforces.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readXmlTrigger } from '../../src/formats/xml-reader.js';
import { validateReading } from '../../src/formats/validate.js';
import { FindingList } from '../../src/formats/findings.js';
import { ContactChecker, checkHeader } from '../../src/formats/rules/contact-rules.js';
import { readSiExport, aliasOf } from '../../src/formats/si-export.js';
import type { ContactColumn } from '../../src/formats/contacts.js';

async function mapped(header: string): Promise<ContactColumn[]> {
  const findings = new FindingList();
  const r = await readSiExport([Buffer.from(`${header}\n`)], findings, { name: 'x.csv' });
  return r.columns;
}

describe('SI export headers as people write them', () => {
  it('the words around a column name do not matter (numéro, n°, de, du, adresse...)', () => {
    const cases: [string, ContactColumn][] = [
      ['Numéro de fax', 'FAXNUMBER'],
      ['N° de fax', 'FAXNUMBER'],
      ['No fax', 'FAXNUMBER'],
      ['Fax number', 'FAXNUMBER'],
      ['Télécopie', 'FAXNUMBER'],
      ['Téléphone portable', 'PHONENUMBER1'],
      ['Numéro de téléphone', 'PHONENUMBER1'],
      ['N° de portable', 'PHONENUMBER1'],
      ['Tél. mobile', 'PHONENUMBER1'],
      ['Numéro de mobile', 'PHONENUMBER1'],
      ['Phone number', 'PHONENUMBER1'],
      ['Mobile phone', 'PHONENUMBER1'],
      ['GSM', 'PHONENUMBER1'],
      ['Portable', 'PHONENUMBER1'],
      ['Téléphone fixe', 'PHONENUMBER2'],
      ['Tél. domicile', 'PHONENUMBER2'],
      ['Adresse e-mail', 'EMAIL1'],
      ['Adresse mail', 'EMAIL1'],
      ['E-mail', 'EMAIL1'],
      ['Courriel', 'EMAIL1'],
      ['Adresse électronique', 'EMAIL1'],
      ['Email address', 'EMAIL1'],
      ['Nom de famille', 'NAME'],
      ['Raison sociale', 'NAME'],
      ['Prénom', 'FORENAME'],
      ['Numéro client', 'EXTERNALREFERENCE'],
      ['Référence client', 'EXTERNALREFERENCE'],
      ['Code client', 'EXTERNALREFERENCE'],
      ['Indicatif pays', 'COUNTRYCODE1'],
      ['Indicatif fax', 'FAXCOUNTRYCODE'],
    ];
    for (const [header, col] of cases) expect(aliasOf(header), header).toBe(col);
  });

  it('a country code beside a fax number and no phone is FAXCOUNTRYCODE (guide line 9326)', async () => {
    expect(await mapped('Raison sociale;Numéro de fax;Indicatif pays;Code client')).toEqual(['NAME', 'FAXNUMBER', 'FAXCOUNTRYCODE', 'EXTERNALREFERENCE']);
    expect(await mapped('Nom;Mobile;Indicatif pays;Fax')).toEqual(['NAME', 'PHONENUMBER1', 'COUNTRYCODE1', 'FAXNUMBER']);
  });

  it('E_TOO_MANY_CONTACTS names the line of the 100,001st contact in the export (a quoted value on two lines and blank lines counted)', async () => {
    const rows = ['Nom;Mobile', '"Dupont\nJean";0612345678', '', ...Array.from({ length: 100_001 }, (_, i) => `N${i};0612345678`)];
    const findings = new FindingList();
    const r = await readSiExport([Buffer.from(`${rows.join('\n')}\n`)], findings, { name: 'big.csv' });
    const checker = new ContactChecker(r.columns, findings);
    for await (const row of r.rows) checker.check(row.values, row.line);
    // Header line 1, Dupont (contact 1) lines 2-3, a blank line 4, N0 (contact 2) line 5: contact 100,001 (N99999) is on line 100,004.
    expect(findings.items.find((f) => f.code === 'E_TOO_MANY_CONTACTS')?.line).toBe(100_004);
  }, 30_000);
});

describe('contact columns', () => {
  it('a country code without its number is flagged (annex 5.3; FAXCOUNTRYCODE, line 9326)', () => {
    expect(checkHeader(['NAME', 'COUNTRYCODE1', 'FAXNUMBER']).map((f) => [f.code, f.field])).toEqual([['W_ORPHAN_COLUMN', 'COUNTRYCODE1']]);
    expect(checkHeader(['NAME', 'COUNTRYCODE1', 'FAXNUMBER'])[0]!.message).toMatch(/FAXCOUNTRYCODE \(guide line 9326\)/);
    expect(checkHeader(['NAME', 'PHONENUMBER1', 'COUNTRYCODE2'])[0]!.message).toMatch(/COUNTRYCODE2 without PHONENUMBER2/);
    expect(checkHeader(['NAME', 'FAXNUMBER', 'FAXCOUNTRYCODE'])).toEqual([]);
  });

  it('OS is android, iOS or windows (guide line 9157)', () => {
    const findings = new FindingList();
    const c = new ContactChecker(['TOKEN', 'OS', 'EMAIL1'], findings);
    c.check(['t1', 'android', 'a@b.fr'], 2);
    c.check(['t2', 'IOS', 'a@b.fr'], 3);
    c.check(['t3', 'Windows', 'a@b.fr'], 4);
    c.check(['t4', 'symbian', 'a@b.fr'], 5);
    expect(findings.items.map((f) => [f.code, f.line])).toEqual([['E_ENUM', 5]]);
  });
});

describe('XML scopes (guide §3.2.5, the XML examples: <auth> then <command>, blocks in <customizableMsg>)', () => {
  const xml = readFileSync(new URL('../../samples/sms.xml', import.meta.url), 'latin1');
  const errorsOf = async (text: string): Promise<string[]> => {
    const findings = new FindingList();
    const r = await validateReading(await readXmlTrigger([Buffer.from(text, 'latin1')], findings), findings);
    return r.errors.map((e) => `${e.code}:${e.field ?? ''}`);
  };
  it('the sample is valid as it is', async () => {
    expect(await errorsOf(xml)).toEqual([]);
  });
  it('a parameter outside its scope is an error', async () => {
    const moved = xml.replace(/(<broadcastName>[^<]*<\/broadcastName>)/, '').replace('</auth>', '<broadcastName>Dans auth</broadcastName></auth>');
    expect(await errorsOf(moved)).toContain('E_XML_STRUCTURE:broadcastName');
    const service = xml.replace(/<serviceId>([^<]*)<\/serviceId>/, '').replace('<command>', '<command><serviceId>12345678</serviceId>');
    expect(await errorsOf(service)).toContain('E_XML_STRUCTURE:serviceId');
    const inBlock = xml.replace(/(<priority>[^<]*<\/priority>)/, '').replace('<customizableMsg>', '<customizableMsg><priority>2</priority>');
    expect(await errorsOf(inBlock)).toContain('E_XML_STRUCTURE:priority');
  });
});

describe('the media each parameter is for (guide lines 9087, 9097-9102)', () => {
  it('an SMS option, a subject or an attachment on a block of another medium is W_MEDIUM_PARAM; on its own medium, nothing', async () => {
    const { checkCommand } = await import('../../src/formats/rules/command-rules.js');
    const base = { serviceId: '1', spaceId: '1', broadcastName: 'x', scenarioId: '1', callPlanningId: '2' };
    const codes = (messages: Record<string, unknown>[], extra: Record<string, string> = {}): string[] =>
      checkCommand({ ...base, ...extra, messages } as never).map((f) => `${f.code}:${f.field ?? ''}`);
    expect(codes([{ customizableId: '1', multimediaType: 'PDF', fileName: 'a.pdf', smsFlash: '1', fileAttachment: ['b.pdf'] }])).toEqual([
      'W_MEDIUM_PARAM:smsFlash',
      'W_MEDIUM_PARAM:fileAttachment',
    ]);
    expect(codes([{ customizableId: '1', multimediaType: 'TTS', text: 'x', messageSubject: 'Objet' }])).toEqual(['W_MEDIUM_PARAM:messageSubject']);
    // A text MMS is TXT with a subject in the guide's own examples.
    expect(codes([{ customizableId: '1', multimediaType: 'TXT', text: 'x', messageSubject: 'Objet' }])).toEqual([]);
    expect(codes([{ customizableId: '1', multimediaType: 'TXT', text: 'x', smsLong: '1', smsUnicode: '1', smsFlash: '0' }])).toEqual([]);
    expect(codes([{ customizableId: '1', multimediaType: 'HTML', text: '<p>x</p>', messageSubject: 'Objet', fileAttachment: ['b.pdf'] }])).toEqual([]);
    expect(codes([{ customizableId: '1', multimediaType: 'TXT', text: 'x' }], { spreading: '1' })).toEqual(['W_MEDIUM_PARAM:spreading']);
    expect(codes([{ customizableId: '1', multimediaType: 'TTS', text: 'x' }], { spreading: '1' })).toEqual([]);
  });
});
