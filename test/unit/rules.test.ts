import { describe, expect, it } from 'vitest';
import { FindingList } from '../../src/formats/findings.js';
import { checkCommand, parseDmcDate } from '../../src/formats/rules/command-rules.js';
import { ContactChecker } from '../../src/formats/rules/contact-rules.js';
import type { MessageBlock } from '../../src/formats/model.js';
import { SMS } from '../helpers/trigger.js';

const blockCodes = (b: MessageBlock, columns?: string[], channel?: 'file' | 'email'): string[] =>
  checkCommand({ ...SMS, messages: [b] }, { ...(columns ? { columns: columns as never } : {}), ...(channel ? { channel } : {}) }).map((f) => f.code);

describe('command rules', () => {
  it('the reference command has no finding', () => {
    expect(checkCommand(SMS)).toEqual([]);
  });

  it('requires scenarioId and callPlanningId for a full trigger, oneTouchId shape otherwise', () => {
    const { scenarioId: _s, callPlanningId: _c, ...rest } = SMS;
    expect(checkCommand(rest).map((f) => [f.code, f.field])).toEqual([
      ['E_REQUIRED', 'scenarioId'],
      ['E_REQUIRED', 'callPlanningId'],
    ]);
    expect(checkCommand({ serviceId: '1', spaceId: '1', broadcastName: 'x', oneTouchId: '4' })).toEqual([]);
  });

  it('checks types, sizes and enumerations', () => {
    const f = checkCommand({ ...SMS, spaceId: '12a', broadcastName: 'x'.repeat(256), userLang: 'de_DE', priority: '3', spreading: '2' });
    expect(f.filter((x) => x.severity === 'error').map((x) => [x.code, x.field])).toEqual([
      ['E_TYPE', 'spaceId'],
      ['E_ENUM', 'userLang'],
      ['E_TOO_LONG', 'broadcastName'],
      ['E_ENUM', 'priority'],
      ['E_TYPE', 'spreading'],
    ]);
    expect(checkCommand({ ...SMS, userLang: 'en_GB' })).toEqual([]);
  });

  it('checks dates as real calendar dates and their order', () => {
    expect(parseDmcDate('2027-02-29 10:00:00')).toBeUndefined();
    expect(parseDmcDate('2028-02-29 10:00:00')).toBeDefined();
    expect(parseDmcDate('2027-01-01 24:00:00')).toBeUndefined();
    expect(checkCommand({ ...SMS, stopDate: SMS.startDate }).map((f) => f.code)).toEqual(['E_DATE_ORDER']);
  });

  it('block: documentId or multimediaType, not both, not neither', () => {
    expect(blockCodes({ customizableId: '1', documentId: '5' })).toEqual([]);
    expect(blockCodes({ customizableId: '1', documentId: '5', multimediaType: 'TXT', text: 'a' })).toEqual(['E_BLOCK']);
    expect(blockCodes({ customizableId: '1', text: 'a' })).toEqual(['E_BLOCK']);
  });

  it('block: TXT needs text; TTS and the other types text or fileName (lines 9091, 9095), with the type extension', () => {
    expect(blockCodes({ multimediaType: 'TTS', fileName: 'a.wav' })).toEqual(['E_BLOCK']);
    expect(blockCodes({ multimediaType: 'TTS', fileName: 'annonce.txt' })).toEqual([]);
    expect(blockCodes({ multimediaType: 'TXT', fileName: 'sms.txt' })).toEqual(['E_BLOCK']);
    expect(blockCodes({ multimediaType: 'PDF' })).toEqual(['E_BLOCK']);
    expect(blockCodes({ multimediaType: 'PDF', fileName: 'doc.PDF' })).toEqual([]);
    expect(blockCodes({ multimediaType: 'WAV', fileName: 'doc.mp3' })).toEqual(['E_BLOCK']);
    expect(blockCodes({ multimediaType: 'MP3', fileName: 'a.mp3' })).toEqual(['E_ENUM']);
  });

  it('ttsVoice is for voice messages, TTS or WAV (line 9092); on another medium a warning like every option', () => {
    expect(blockCodes({ multimediaType: 'WAV', fileName: 'a.wav', ttsVoice: 'claire08s' })).toEqual([]);
    expect(blockCodes({ multimediaType: 'TTS', text: 'Bonjour', ttsVoice: 'claire08s' })).toEqual([]);
    expect(blockCodes({ multimediaType: 'TXT', text: 'Bonjour', ttsVoice: 'claire08s' })).toEqual(['W_MEDIUM_PARAM']);
  });

  it('block: two attachments at most, counting fileAttachment and documentAttachment together', () => {
    expect(blockCodes({ documentId: '1', fileAttachment: ['a.pdf'], documentAttachment: ['2'] })).toEqual([]);
    expect(blockCodes({ documentId: '1', fileAttachment: ['a.pdf', 'b.pdf'], documentAttachment: ['2'] })).toEqual(['E_ATTACHMENTS']);
  });

  it('each customizableId appears once', () => {
    const b = { customizableId: '10', multimediaType: 'TXT', text: 'a' };
    expect(checkCommand({ ...SMS, messages: [b, b] }).map((f) => f.code)).toEqual(['E_BLOCK']);
  });

  it('a favourite takes no scenario and no blocks', () => {
    expect(checkCommand({ ...SMS, oneTouchId: '40' }).map((f) => [f.code, f.field])).toEqual([
      ['E_SHAPE', 'scenarioId'],
      ['E_SHAPE', 'callPlanningId'],
      ['E_SHAPE', 'customizableId'],
    ]);
  });

  it('dynamic fields: known names only, case-insensitive; INFO columns required; the date field per channel', () => {
    const t = (text: string, columns?: string[], channel?: 'file' | 'email') => blockCodes({ multimediaType: 'TXT', text }, columns, channel);
    expect(t('Bonjour |Contact.Prenom| |contact.nom|, le |datejour|, |shortcode|', ['NAME', 'FORENAME', 'PHONENUMBER1'])).toEqual([]);
    expect(t('n°|contact.info2|', ['PHONENUMBER1'])).toEqual(['E_DYNAMIC_COLUMN']);
    expect(t('|contact.nom|', ['PHONENUMBER1'])).toEqual(['W_DYNAMIC_COLUMN']);
    expect(t('|contact.age|')).toEqual(['E_DYNAMIC_FIELD']);
    expect(t('le |date|')).toEqual(['E_DYNAMIC_FIELD']);
    expect(t('le |date|', undefined, 'email')).toEqual([]);
    expect(t('a | b')).toEqual([]);
  });

  it('quotaResult is required with quota', () => {
    expect(checkCommand({ ...SMS, quota: '10' }).map((f) => f.code)).toEqual(['E_QUOTA']);
    expect(checkCommand({ ...SMS, quota: '10', quotaResult: 'SMS reçu' })).toEqual([]);
  });
});

describe('contact rules', () => {
  const run = (columns: string[], rows: string[][], max?: number) => {
    const list = new FindingList(1000);
    const c = new ContactChecker(columns, list, max);
    rows.forEach((r, i) => c.check(r, i + 2));
    return list.list().map((f) => [f.code, f.line, f.field ?? null]);
  };

  it('accepts phone numbers with the separators the platform ignores and international numbers', () => {
    expect(
      run(
        ['PHONENUMBER1', 'FAXNUMBER'],
        [
          ['06 12 34 56 78', '(04) 72.00/00\\01'],
          ['+33612345678', ''],
        ],
      ),
    ).toEqual([]);
  });

  it('refuses what is not a phone number and numbers over 15 digits once separators are dropped', () => {
    expect(run(['PHONENUMBER1'], [['06-12-34'], ['0612345678901234'], ['abc']])).toEqual([
      ['E_PHONE', 2, 'PHONENUMBER1'],
      ['E_TOO_LONG', 3, 'PHONENUMBER1'],
      ['E_PHONE', 4, 'PHONENUMBER1'],
    ]);
  });

  it('checks country codes, email syntax and sizes', () => {
    expect(run(['EMAIL1', 'COUNTRYCODE1', 'NAME', 'INFO1'], [['a@b', '+33', 'x'.repeat(256), 'y'.repeat(4000)]])).toEqual([
      ['E_EMAIL', 2, 'EMAIL1'],
      ['E_COUNTRY_CODE', 2, 'COUNTRYCODE1'],
      ['E_TOO_LONG', 2, 'NAME'],
    ]);
  });

  it('warns about spaces around an address value ("33 " in the guide)', () => {
    expect(run(['PHONENUMBER1', 'COUNTRYCODE1'], [['0612345678', '33 ']])).toEqual([['W_WHITESPACE', 2, 'COUNTRYCODE1']]);
  });

  it('a contact needs one of its phone, fax or email', () => {
    expect(
      run(
        ['NAME', 'PHONENUMBER2', 'EMAIL1'],
        [
          ['a', '', ''],
          ['b', '0612345678', ''],
        ],
      ),
    ).toEqual([['E_NO_ADDRESS', 2, null]]);
  });

  it('reports the contact past the limit once', () => {
    expect(
      run(
        ['PHONENUMBER1'],
        Array.from({ length: 5 }, () => ['0612345678']),
        3,
      ),
    ).toEqual([['E_TOO_MANY_CONTACTS', 5, null]]);
  });
});
