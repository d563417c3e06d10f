import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildTriggerFiles, partBroadcastName, partPath } from '../../src/files/build.js';
import { validateTriggerFile } from '../../src/files/read-trigger.js';
import { SMS } from '../helpers/trigger.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dmc-build-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function exportOf(n: number, bad?: number): string {
  const p = join(dir, 'export.csv');
  const lines = ['Nom;Prénom;Mobile'];
  for (let i = 1; i <= n; i++) lines.push(`Nom${i};Prénom${i};${i === bad ? 'abc' : `06${String(i).padStart(8, '0')}`}`);
  writeFileSync(p, lines.join('\n') + '\n');
  return p;
}

describe('build', () => {
  it('writes one valid file and nothing else in the folder', async () => {
    const r = await buildTriggerFiles(SMS, exportOf(3), { out: join(dir, 'out.csv') });
    expect(r.ok).toBe(true);
    expect(r.files).toEqual([{ path: join(dir, 'out.csv'), contacts: 3, bytes: readFileSync(join(dir, 'out.csv')).length, broadcastName: 'Envoi SMS' }]);
    expect(readdirSync(dir).sort()).toEqual(['export.csv', 'out.csv']);
    expect((await validateTriggerFile(join(dir, 'out.csv'))).valid).toBe(true);
  });

  it('leaves nothing at the output path when a contact is invalid, and names the export line', async () => {
    const r = await buildTriggerFiles(SMS, exportOf(5, 4), { out: join(dir, 'out.csv') });
    expect(r.ok).toBe(false);
    expect(r.findings.find((f) => f.code === 'E_PHONE')).toMatchObject({ line: 5, field: 'PHONENUMBER1' });
    expect(readdirSync(dir)).toEqual(['export.csv']);
  });

  it('keeps an existing output file untouched when a build fails', async () => {
    writeFileSync(join(dir, 'out.csv'), 'previous');
    const r = await buildTriggerFiles({ ...SMS, priority: '3' }, exportOf(2), { out: join(dir, 'out.csv') });
    expect(r.ok).toBe(false);
    expect(readFileSync(join(dir, 'out.csv'), 'utf8')).toBe('previous');
  });

  it('refuses more than the limit without a split', async () => {
    const r = await buildTriggerFiles(SMS, exportOf(12), { out: join(dir, 'out.csv'), maxContacts: 10 });
    expect(r.ok).toBe(false);
    expect(r.findings.filter((f) => f.code === 'E_TOO_MANY_CONTACTS')).toHaveLength(1);
    expect(r.findings[0]!.message).toMatch(/--split/);
  });

  it('splits into complete files with predictable names and numbered broadcast names', async () => {
    const r = await buildTriggerFiles(SMS, exportOf(25), { out: join(dir, 'out.csv'), split: 10 });
    expect(r.ok).toBe(true);
    expect(r.files.map((f) => [f.path.slice(dir.length + 1), f.contacts, f.broadcastName])).toEqual([
      ['out-001.csv', 10, 'Envoi SMS (1/3)'],
      ['out-002.csv', 10, 'Envoi SMS (2/3)'],
      ['out-003.csv', 5, 'Envoi SMS (3/3)'],
    ]);
    const all: string[] = [];
    for (const f of r.files) {
      const v = await validateTriggerFile(f.path);
      expect(v.valid).toBe(true);
      const text = iconv.decode(readFileSync(f.path), 'iso-8859-15');
      expect(text.endsWith('#END\n')).toBe(true);
      all.push(...text.split('\n').filter((l) => l.startsWith('Nom')));
    }
    expect(all).toHaveLength(25);
    expect(new Set(all).size).toBe(25);
  });

  it('a split checks the command once: a command warning is reported once, not once per part', async () => {
    const r = await buildTriggerFiles({ ...SMS, description: 'L’offre' }, exportOf(25), { out: join(dir, 'out.csv'), split: 10 });
    expect(r.ok).toBe(true);
    expect(r.findings.filter((f) => f.code === 'W_TRANSLITERATED')).toHaveLength(1);
    expect(readdirSync(dir).sort()).toEqual(['export.csv', 'out-001.csv', 'out-002.csv', 'out-003.csv']);
  });

  it('a split of exactly N contacts makes one part, of 2N two parts, and no empty part', async () => {
    expect((await buildTriggerFiles(SMS, exportOf(10), { out: join(dir, 'a.csv'), split: 10 })).files.map((f) => f.contacts)).toEqual([10]);
    expect((await buildTriggerFiles(SMS, exportOf(20), { out: join(dir, 'b.csv'), split: 10 })).files.map((f) => f.contacts)).toEqual([10, 10]);
    expect(readdirSync(dir).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('{count} in the broadcast name becomes the contacts of each file', async () => {
    const one = await buildTriggerFiles({ ...SMS, broadcastName: 'Relance ({count} contacts)' }, exportOf(7), { out: join(dir, 'c.csv') });
    expect(one.files.map((f) => [f.broadcastName, f.contacts])).toEqual([['Relance (7 contacts)', 7]]);
    expect(readFileSync(join(dir, 'c.csv'), 'latin1')).toContain('broadcastName:Relance (7 contacts)\n');
    const parts = await buildTriggerFiles({ ...SMS, broadcastName: 'R {count}' }, exportOf(25), { out: join(dir, 'p.csv'), split: 10 });
    expect(parts.files.map((f) => f.broadcastName)).toEqual(['R 10 (1/3)', 'R 10 (2/3)', 'R 5 (3/3)']);
  });

  it('a split that needs one part writes the plain name', async () => {
    const r = await buildTriggerFiles(SMS, exportOf(3), { out: join(dir, 'out.xml'), split: 10, format: 'xml' });
    expect(r.files.map((f) => [f.path.slice(dir.length + 1), f.broadcastName])).toEqual([['out.xml', 'Envoi SMS']]);
  });

  it('a failed split writes no part at all', async () => {
    const r = await buildTriggerFiles(SMS, exportOf(25, 23), { out: join(dir, 'out.csv'), split: 10 });
    expect(r.ok).toBe(false);
    expect(readdirSync(dir)).toEqual(['export.csv']);
  });

  it('names parts and cuts broadcast names to 255 characters', () => {
    expect(partPath('/x/camp.csv', 2, 12)).toBe('/x/camp-002.csv');
    expect(partPath('/x/camp.csv', 2, 1200)).toBe('/x/camp-0002.csv');
    const long = partBroadcastName('x'.repeat(300), 3, 10);
    expect(long).toHaveLength(255);
    expect(long.endsWith(' (3/10)')).toBe(true);
  });

  it('builds a favourite or contact-list trigger without an export', async () => {
    const r = await buildTriggerFiles({ serviceId: '1', spaceId: '1', broadcastName: 'F', oneTouchId: '40' }, undefined, { out: join(dir, 'fav.csv') });
    expect(r.ok).toBe(true);
    expect(readFileSync(join(dir, 'fav.csv'), 'latin1')).toBe(
      '#COMMAND\nencoding:ISO8859-15\nserviceId:1\nspaceId:1\nbroadcastName:F\noneTouchId:40\n#CONTACTS\nPHONENUMBER1\n#END\n',
    );
  });
});
