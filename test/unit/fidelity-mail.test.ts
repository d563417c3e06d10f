/** Email triggers against the guide and the MIME rules (issue #10). */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { prepareEmailTrigger } from '../../src/files/email-trigger.js';

const dir = mkdtempSync(join(tmpdir(), 'dmc-mailfid-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const repo = new URL('../../', import.meta.url).pathname;

describe('email trigger contacts', () => {
  const exp = join(dir, 'export.csv');
  writeFileSync(exp, 'Nom;Mobile;Info\nDupont;0612345678;Total 12 €\nDurand;0612345679;Prix 5 €\n');
  const cmd = readFileSync(join(repo, 'templates/sms-dynamic.yaml'), 'utf8');
  writeFileSync(join(dir, 'cmd.yaml'), cmd);

  it('the contacts.csv attachment ends every line with CRLF, the header as the rows', async () => {
    const r = await prepareEmailTrigger({ source: join(dir, 'cmd.yaml'), contacts: exp, map: { INFO1: 'Info' } });
    expect(r.findings.filter((f) => f.severity === 'error')).toEqual([]);
    const csv = r.attachments.find((a) => a.filename === 'contacts.csv')!.content as Buffer;
    const text = csv.toString('latin1');
    expect(text.split('\r\n').length - 1, 'CRLF line ends').toBe(3);
    expect(text.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    // ISO-8859-15: the euro sign is 0xA4.
    expect(csv.includes(Buffer.from([0xa4]))).toBe(true);
  });

  it('--contacts-in-body reads the ISO-8859-15 contacts as such: € stays €, not ¤', async () => {
    const r = await prepareEmailTrigger({ source: join(dir, 'cmd.yaml'), contacts: exp, map: { INFO1: 'Info' }, contactsInBody: true });
    expect(r.body).toContain('Total 12 €');
    expect(r.body).not.toContain('¤');
    expect(r.body.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
  });
});
