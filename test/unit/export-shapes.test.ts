/**
 * Issue #19.2 and #19.5: exports as they come from the SI. UTF-16 without a
 * byte order mark is detected; rows shorter than the header (the guide's own
 * import example, annex 5.3 lines 10880-10882) are the rest left empty; a
 * header-only export is named as such, not blamed on the command file.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildTriggerFiles } from '../../src/files/build.js';
import { SMS } from '../helpers/trigger.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dmc-shapes-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('SI export shapes', () => {
  it('reads UTF-16LE and UTF-16BE without a byte order mark', async () => {
    const text = 'Nom;Prénom;Mobile\r\nDurand;Zoé;0612345678\r\n';
    for (const [name, bytes] of [
      ['le.csv', Buffer.from(text, 'utf16le')],
      ['be.csv', Buffer.from(text, 'utf16le').swap16()],
    ] as const) {
      writeFileSync(join(dir, name), bytes);
      const r = await buildTriggerFiles(SMS, join(dir, name), { out: join(dir, `${name}.trigger.csv`) });
      expect(
        r.findings.filter((f) => f.severity === 'error'),
        name,
      ).toEqual([]);
      expect(r.export?.encoding).toBe(name === 'le.csv' ? 'utf-16le' : 'utf-16be');
      expect(r.contacts).toBe(1);
    }
  });

  it("builds annex 5.3's own import example: 22 columns in the header, rows of 17 fields", async () => {
    const header =
      'NAME;FORENAME;PHONENUMBER1;COUNTRYCODE1;PHONENUMBER2;COUNTRYCODE2;PHONENUMBER3;COUNTRYCODE3;PHONENUMBER4;COUNTRYCODE4;PHONENUMBER5;COUNTRYCODE5;PHONENUMBER6;COUNTRYCODE6;FAXNUMBER;FAXCOUNTRYCODE;EMAIL1;EXTERNALREFERENCE;INFO1;INFO2;INFO3;INFO4';
    writeFileSync(join(dir, 'annex.csv'), `${header}\nDurand;Paul;0606060606;33;;;;;;;;;;;;;\nDurand;Pierre;0606060607;33;;;;;;;;;;;;;\n`);
    const r = await buildTriggerFiles(SMS, join(dir, 'annex.csv'), { out: join(dir, 'annex.trigger.csv') });
    expect(r.findings.filter((f) => f.severity === 'error')).toEqual([]);
    expect(r.contacts).toBe(2);
  });

  it('a row with more fields than the header is still an error naming the delimiter', async () => {
    writeFileSync(join(dir, 'wide.csv'), 'Nom;Mobile\nA;0612345678;extra\n');
    const r = await buildTriggerFiles(SMS, join(dir, 'wide.csv'), { out: join(dir, 'wide.trigger.csv') });
    expect(r.findings.find((f) => f.code === 'E_EXPORT')?.message).toMatch(/3 field\(s\) where the header has 2/);
  });

  it('a header-only export is said of the export', async () => {
    writeFileSync(join(dir, 'quiet.csv'), 'Nom;Mobile\n');
    const r = await buildTriggerFiles(SMS, join(dir, 'quiet.csv'), { out: join(dir, 'quiet.trigger.csv') });
    expect(r.ok).toBe(false);
    expect(r.findings.find((f) => f.code === 'E_NO_CONTACTS')).toMatchObject({
      source: 'export',
      message: expect.stringMatching(/quiet\.csv holds a header and no contact rows/) as unknown,
    });
  });
});
