import { describe, expect, it } from 'vitest';
import { callAddress, contactResult, labelOf, mediaOf, pickResult, RESULT_MIX } from '../../src/simulator/results.js';
import { CRA_CODES } from '../../src/formats/cra-codes.js';

describe('simulated results', () => {
  it('every code the simulator draws is an annex 5.4 code of the right medium', () => {
    const known = new Map(CRA_CODES.map((c) => [c.code, c.medium]));
    const medium = { sms: 'sms', mms: 'mms', voice: 'voice', fax: 'fax', email: 'email' } as const;
    for (const [m, mix] of Object.entries(RESULT_MIX)) for (const [code] of mix) expect(known.get(code), code).toBe(medium[m as keyof typeof medium]);
  });

  it('every success code is an annex 5.4 code', async () => {
    const { SUCCESS_CODES } = await import('../../src/formats/cra.js');
    const known = new Set(CRA_CODES.map((c) => c.code));
    for (const c of SUCCESS_CODES) expect(known.has(c), c).toBe(true);
  });

  it('draws a realistic mix: mostly delivered, some failures, deterministic per seed', () => {
    const n = 2000;
    const codes = Array.from({ length: n }, (_, i) => pickResult('sms', 'seed', 1, i));
    const received = codes.filter((c) => c === 'CRA_SMS_RECEIVED').length / n;
    expect(received).toBeGreaterThan(0.8);
    expect(received).toBeLessThan(0.92);
    expect(new Set(codes).size).toBeGreaterThan(3);
    expect(Array.from({ length: n }, (_, i) => pickResult('sms', 'seed', 1, i))).toEqual(codes);
    expect(Array.from({ length: n }, (_, i) => pickResult('sms', 'other', 1, i))).not.toEqual(codes);
  });

  it('chooses the medium from the blocks and the addresses the contact has', () => {
    expect(
      mediaOf({
        serviceId: '1',
        spaceId: '1',
        broadcastName: 'x',
        messages: [
          { documentId: '5' },
          { multimediaType: 'TTS', text: 't' },
          { multimediaType: 'TXT', text: 't' },
          { multimediaType: 'PDF', fileName: 'a.pdf' },
        ],
      }),
    ).toEqual(['email', 'voice', 'sms', 'fax']);
    const ctx = { seed: 's', broadcastId: 1, index: 0, contactId: 9, start: new Date(0) };
    expect(contactResult(['NAME', 'FAXNUMBER'], ['N', '01 23 45 67 89'], ['email', 'fax'], ctx)).toMatchObject({
      address: '+33123456789',
      code: expect.stringMatching(/^CRA_FAX_/),
    });
    expect(contactResult(['NAME'], ['N'], ['sms'], ctx)).toMatchObject({ code: 'CRA_NOMESSAGE', label: 'Contact incompatible' });
  });

  it('writes addresses as the platform does and labels in the broadcast language', () => {
    expect(callAddress('06 12.34.56 78', '33')).toBe('+33612345678');
    expect(callAddress('0612345678', '')).toBe('+33612345678');
    expect(callAddress('+4930123456', '49')).toBe('+4930123456');
    expect(labelOf('CRA_SMS_RECEIVED', 'Fr_fr')).toBe('Reçu');
    expect(labelOf('CRA_SMS_RECEIVED', 'En_gb')).toBe('Received');
  });
});

describe('startDate on the simulator (issue #19.5, guide line 9077)', () => {
  it('a broadcast starting later waits: its calls are after its startDate, so no status is pushed and no report holds it before then', async () => {
    const { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { accountPaths, createBroadcast, writeReport } = await import('../../src/simulator/platform.js');
    const root = mkdtempSync(join(tmpdir(), 'dmc-startdate-'));
    try {
      const account = { serviceId: '12345678', username: 'dmc' };
      const p = accountPaths(root, account);
      for (const d of [p.state, join(p.dmc, 'out')]) mkdirSync(d, { recursive: true });
      const trigger = (start: string): string =>
        `#COMMAND\nserviceId:12345678\nspaceId:1\nbroadcastName:b\nscenarioId:40\ncallPlanningId:41\n${start ? `startDate:${start}\n` : ''}customizableId:10\nmultimediaType:TXT\ntext:x\n#CONTACTS\nPHONENUMBER1;EXTERNALREFERENCE\n0612345678;R\n#END\n`;
      writeFileSync(join(root, 'later.csv'), trigger('2099-06-03 08:00:00'));
      writeFileSync(join(root, 'now.csv'), trigger(''));
      const events: unknown[] = [];
      const opts = { root, seed: 's', archiveAfter: 60, retentionDays: 7, emit: (e: unknown) => events.push(e), callSpread: 0, reportScope: 'ended' as const };
      const now = new Date();
      const later = await createBroadcast(join(root, 'later.csv'), p, opts, now);
      const soon = await createBroadcast(join(root, 'now.csv'), p, opts, now);
      expect(later.startsAt).toBe('2099-06-03 08:00:00');
      expect(soon.startsAt).toBeUndefined();
      const pending = readFileSync(join(p.state, 'pending.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { broadcastId: number; callAt: number; callDate: string });
      const of = (id: number) => pending.find((r) => r.broadcastId === id)!;
      expect(of(later.broadcastId).callAt).toBe(Date.UTC(2099, 5, 3, 6, 0, 0));
      expect(of(later.broadcastId).callDate).toBe('2099/06/03 08:00:00');
      // The report written now holds the broadcast that started, not the one that waits.
      await writeReport(account, { ...opts, now: () => new Date(now.getTime() + 1000) });
      const { parisTime } = await import('../../src/formats/paris-time.js');
      const report = readFileSync(join(p.dmc, 'out', `CRA_12345678_${parisTime(new Date(now.getTime() + 1000)).date}.csv`), 'latin1');
      expect(report).toMatch(new RegExp(`^${soon.broadcastId};`, 'm'));
      expect(report).not.toMatch(new RegExp(`^${later.broadcastId};`, 'm'));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
