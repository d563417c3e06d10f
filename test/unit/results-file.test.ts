/**
 * Results files (docs/formats.md, "Results files"): rows matched by
 * reference or address, never guessed; several media per row; JSON Lines;
 * final when nothing is pending or when the input is past finalAfterDays.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Journal } from '../../src/store/journal.js';
import { writePushReport, type PushElement } from '../../src/formats/push.js';
import { NotRegularFileError } from '../../src/files/no-follow.js';
import { writeResultsFile } from '../../src/results/results-file.js';
import { StatusStore } from '../../src/store/statuses.js';

let dir: string;
let journal: Journal;
let store: StatusStore;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dmc-results-'));
  journal = await Journal.open(join(dir, 'j.db'), 'receiver');
  store = new StatusStore(journal);
});
afterEach(async () => {
  await journal.close();
  rmSync(dir, { recursive: true, force: true });
});

const el = (to: string, medium: PushElement['medium'], type: string, contactId: string, ref = ''): PushElement => ({
  medium,
  to,
  status: type,
  callId: contactId,
  broadcastId: '700',
  contactId,
  refExterne: ref,
  spaceId: '1',
  date: '2026-11-28 10:00:00',
  history: [{ type, date: '2026-11-28 10:00:00', seq: 0, ...(type === 'ERROR' ? { code: 'CRA_SMS_BADNUMBER' } : {}) }],
});

async function write(exportText: string, name: string, expired = false, map = {}) {
  writeFileSync(join(dir, name), exportText);
  return writeResultsFile({
    exportPath: join(dir, name),
    outPath: join(dir, `${name}.results`),
    summaryPath: join(dir, `${name}.summary.json`),
    map,
    lookup: await store.lookup(['700']),
    input: { id: 1, name, folder: dir },
    broadcasts: ['700'],
    expired,
  });
}

describe('results files', () => {
  it('followLinks: false (the daemon) never reads an export that is a link: nothing written; the library follows one by default', async () => {
    const target = join(dir, 'elsewhere.csv');
    writeFileSync(target, 'secret-column;Mobile\nTOPSECRET;0612345678\n');
    symlinkSync(target, join(dir, 'linked.csv'));
    const o = {
      exportPath: join(dir, 'linked.csv'),
      outPath: join(dir, 'linked.results.csv'),
      summaryPath: join(dir, 'linked.summary.json'),
      map: {},
      lookup: await store.lookup(['700']),
      input: { id: 1, name: 'linked.csv', folder: dir },
      broadcasts: ['700'],
      expired: false,
    };
    await expect(writeResultsFile({ ...o, followLinks: false })).rejects.toThrow(NotRegularFileError);
    await expect(writeResultsFile({ ...o, followLinks: false })).rejects.toThrow(/linked\.csv is a symbolic link, not a regular file: not read/);
    expect(existsSync(o.outPath)).toBe(false);
    expect(existsSync(o.summaryPath)).toBe(false);
    await expect(writeResultsFile({ ...o, exportPath: dir, followLinks: false })).rejects.toThrow(/is a folder or a device, not a regular file/);
    expect((await writeResultsFile(o)).rows).toBe(1);
  });

  it('by address: a row nothing matches stays pending and is counted unmatched; final only once expired', async () => {
    const { parsePushReport } = await import('../../src/formats/push.js');
    await journal.tx(async () =>
      store.recordPush([parsePushReport(writePushReport('1', [el('+33601020304', 'sms', 'RECEIVED', '1'), el('+33601020305', 'sms', 'ERROR', '2')]))]),
    );
    const text = 'Nom;Mobile\nA;06 01 02 03 04\nB;06 01 02 03 05\nC;06 01 02 03 06\n';
    const s = await write(text, 'x.csv');
    expect(s).toMatchObject({ rows: 3, unmatched: 1, matchedBy: 'address', final: false, byStatus: { delivered: 1, failed: 1, pending: 1 } });
    expect(readFileSync(join(dir, 'x.csv.results'), 'utf8').split('\n').slice(1, 4)).toEqual([
      'A;06 01 02 03 04;delivered;CRA_SMS_RECEIVED;Reçu;2026-11-28 10:00:00;sms;700',
      'B;06 01 02 03 05;failed;CRA_SMS_BADNUMBER;Numéro erroné;2026-11-28 10:00:00;sms;700',
      'C;06 01 02 03 06;pending;;;;;',
    ]);
    expect((await write(text, 'x.csv', true)).final).toBe(true);
  });

  it('by reference when the export maps one: the address is not used, even when it would match', async () => {
    const { parsePushReport } = await import('../../src/formats/push.js');
    await journal.tx(async () => store.recordPush([parsePushReport(writePushReport('1', [el('+33601020304', 'sms', 'RECEIVED', '1', 'R1')]))]));
    const s = await write('Nom;Mobile;Ref\nA;06 01 02 03 04;R1\nB;06 01 02 03 04;R2\n', 'r.csv', false, { EXTERNALREFERENCE: 'Ref' });
    expect(s).toMatchObject({ matchedBy: 'reference', unmatched: 1, byStatus: { delivered: 1, pending: 1 } });
  });

  it('several media for one row: delivered wins over failed; JSON Lines get a dmc object', async () => {
    const { parsePushReport } = await import('../../src/formats/push.js');
    await journal.tx(async () =>
      store.recordPush([parsePushReport(writePushReport('1', [el('a@b.fr', 'mail', 'ERROR', '1'), el('+33601020304', 'sms', 'RECEIVED', '1')]))]),
    );
    const s = await write('{"nom":"A","mobile":"0601020304","email":"a@b.fr"}\n', 'j.jsonl', false, { PHONENUMBER1: 'mobile', EMAIL1: 'email' });
    expect(s).toMatchObject({ rows: 1, byStatus: { delivered: 1 }, byMedium: { sms: 1 } });
    const line = JSON.parse(readFileSync(join(dir, 'j.jsonl.results'), 'utf8').trim()) as { nom: string; dmc: Record<string, string> };
    expect(line.nom).toBe('A');
    expect(line.dmc).toMatchObject({ status: 'delivered', medium: 'sms', broadcast: '700', code: 'CRA_SMS_RECEIVED' });
  });

  // The encoding is read from the first 64 KiB, as the build read it; a head that ends inside a character is not taken for Latin-1.
  it('a UTF-8 export longer than the 64 KiB head, cut inside a character there, stays UTF-8 (the added labels too)', async () => {
    const { parsePushReport } = await import('../../src/formats/push.js');
    await journal.tx(async () => store.recordPush([parsePushReport(writePushReport('1', [el('+33601020306', 'sms', 'RECEIVED', '1')]))]));
    let text = 'Nom;Mobile\n';
    while (text.length < 65_000) text += 'Nom;06 01 02 03 04\n';
    // The 65,536th byte is the first of the two of 'é'.
    text += `${'x'.repeat(65_535 - text.length)}é;06 01 02 03 05\nZoé;06 01 02 03 06\n`;
    expect(Buffer.from(text)[65_535]).toBe(0xc3);
    await write(text, 'long.csv');
    const out = readFileSync(join(dir, 'long.csv.results'));
    expect(out.toString('utf8')).toContain('Zoé;06 01 02 03 06;delivered;CRA_SMS_RECEIVED;Reçu;');
  });
});
