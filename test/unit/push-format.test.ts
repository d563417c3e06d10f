/**
 * The CRA push format (guide §2.9) and the simulator's pusher: what it posts
 * for each medium reads back through the receiver's parser with the meaning
 * of the contact's result; addresses match across the sources' spellings.
 */
import { describe, expect, it } from 'vitest';
import { addressKey } from '../../src/formats/address.js';
import { SUCCESS_CODES } from '../../src/formats/cra.js';
import { finalOf, latestOf, parsePushReport, sortKey, writePushReport } from '../../src/formats/push.js';
import { pushElementOf, type QueuedResult } from '../../src/simulator/pusher.js';

const result = (code: string, address: string): QueuedResult => ({
  broadcastId: 1000,
  contactId: 5_000_001,
  externalReference: 'R-1',
  name: 'Nom',
  forename: 'Prénom',
  code,
  label: 'Libellé',
  address,
  callDate: '2026/11/28 10:00:00',
  callAt: Date.UTC(2026, 10, 28, 9, 0, 0),
  attempts: 1,
});

describe("the simulator's pusher, every medium", () => {
  const cases: [string, string, string, string[]][] = [
    ['CRA_SMS_RECEIVED', '+33601020304', 'sms', ['SENT', 'RECEIVED']],
    ['CRA_SMS_BADNUMBER', '+33601020304', 'sms', ['ERROR']],
    ['CRA_MMS_SENT', '+33601020304', 'mms', ['SENT']],
    ['CRA_EMAIL_CLICK', 'a@b.fr', 'mail', ['SENT', 'CLICK']],
    ['CRA_EMAIL_HARDBOUNCE', 'a@b.fr', 'mail', ['ERROR']],
    ['CRA_FAX_SENT', '+33102030405', 'fax', ['CONVERTED', 'SENT']],
    ['CRA_FAX_BUSY', '+33102030405', 'fax', ['CONVERTED', 'ERROR']],
    ['CRA_VOCAL_ENDED', '+33102030405', 'call', ['ESTABLISHED', 'ENDED']],
    ['CRA_VOCAL_NOANSWER', '+33102030405', 'call', ['ERROR']],
  ];
  for (const [code, address, medium, types] of cases)
    it(`${code}: <${medium}> with ${types.join(' then ')}, read back with its meaning`, () => {
      const el = pushElementOf(result(code, address), '521')!;
      const back = parsePushReport(writePushReport('12345678', [el]));
      const e = back.elements[0]!;
      expect(back.username).toBe('12345678');
      expect(e.medium).toBe(medium);
      expect(e.history.map((h) => h.type)).toEqual(types);
      expect(e.status).toBe(types[types.length - 1]);
      const last = latestOf(e.history);
      expect(finalOf(e.medium, last.type)).toBe(SUCCESS_CODES.has(code) ? 'delivered' : 'failed');
      if (!SUCCESS_CODES.has(code)) expect(last).toMatchObject({ code, info: 'Libellé' });
      if (code === 'CRA_VOCAL_ENDED') expect(e.voice).toMatchObject({ vxml_voicemail: 'false', vxml_termination: 'disconnect' });
      expect(e).toMatchObject({ broadcastId: '1000', contactId: '5000001', refExterne: 'R-1', spaceId: '521', to: address });
    });

  it('a contact no medium reached (CRA_NOMESSAGE) is not pushed', () => {
    expect(pushElementOf(result('CRA_NOMESSAGE', ''), '1')).toBeUndefined();
  });
});

describe('order of statuses', () => {
  it('by date, then the chain of the guide (lines 6789-6798), then the position in the history', () => {
    const at = '2026-11-28 10:00:00';
    expect(sortKey({ date: at, type: 'RECEIVED', seq: 0 }) > sortKey({ date: at, type: 'SENT', seq: 5 })).toBe(true);
    expect(sortKey({ date: '2026-11-28 10:00:01', type: 'SENT', seq: 0 }) > sortKey({ date: at, type: 'ANSWERED', seq: 0 })).toBe(true);
    expect(sortKey({ date: at, type: 'UNKNOWN', seq: 1 }) > sortKey({ date: at, type: 'UNKNOWN', seq: 0 })).toBe(true);
  });
  it('SENT is final for MMS, email and fax (line 6792), not for SMS and notifications', () => {
    expect(['mms', 'mail', 'fax'].map((m) => finalOf(m as 'mms', 'SENT'))).toEqual(['delivered', 'delivered', 'delivered']);
    expect(finalOf('sms', 'SENT')).toBe('pending');
    expect(finalOf('notif', 'SENT')).toBe('pending');
    expect(finalOf('call', 'ESTABLISHED')).toBe('pending');
  });
});

describe('addresses as matching keys', () => {
  it('the export, the push and the report spellings of one number are one key', () => {
    const k = '33601020304';
    expect(addressKey('06 01 02 03 04', '')).toBe(k);
    expect(addressKey('06.01.02.03.04', '33')).toBe(k);
    expect(addressKey('+33601020304', '')).toBe(k);
    expect(addressKey('0033 6 01 02 03 04', '')).toBe(k);
    expect(addressKey('601020304', '')).toBe('601020304');
    expect(addressKey('0601020304', '32')).toBe('32601020304');
    expect(addressKey(' Jean.Dupont@Exemple.FR ', '')).toBe('jean.dupont@exemple.fr');
    expect(addressKey('  ', '')).toBe('');
  });
});
