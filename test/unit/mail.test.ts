import { readFileSync } from 'node:fs';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { emailTriggerBody, normalizeMobile, parseReply, planMail2Sms, mail2SmsText, REPLY_TEXTS } from '../../src/formats/mail.js';
import { SMS } from '../helpers/trigger.js';

/** A guide example kept in the repository (test/fixtures/guide/). */
const ex = (f: string): string =>
  iconv.decode(readFileSync(new URL(`../fixtures/guide/${f.replace(/^email-trigger\//, 'email/')}`, import.meta.url)), 'iso-8859-15');

describe('email trigger body', () => {
  it('holds the command lines in the documented order, without #COMMAND or encoding', () => {
    const { body, findings } = emailTriggerBody({
      ...SMS,
      encoding: 'UTF8',
      messages: [{ customizableId: '10', multimediaType: 'TXT', text: '"Diffusion déclenchée par mail."' }],
    });
    expect(findings).toEqual([]);
    expect(body.split('\r\n')).toEqual([
      'serviceId:12345678',
      'spaceId:123',
      'broadcastName:Envoi SMS',
      'scenarioId:40',
      'startDate:2027-01-15 09:00:00',
      'stopDate:2027-01-16 20:00:00',
      'callPlanningId:41',
      'priority:2',
      'customizableId:10',
      'multimediaType:TXT',
      'text:""Diffusion déclenchée par mail.""',
      '',
    ]);
  });
  it('refuses a line break in a value', () => {
    expect(emailTriggerBody({ ...SMS, description: 'a\nserviceId:1' }).findings[0]).toMatchObject({ code: 'E_FORBIDDEN_CHAR', field: 'description' });
  });
});

describe('mail2sms', () => {
  it('checks mobile numbers, removes duplicates, names each rejected number', () => {
    expect(normalizeMobile('06 01 02 03 04')).toBe('0601020304');
    expect(normalizeMobile('+33 6 01 02 03 04')).toBe('0601020304');
    expect(normalizeMobile('+447700900123')).toBe('+447700900123');
    expect(normalizeMobile('0102030405')).toBeUndefined();
    const p = planMail2Sms(['0601020304;06.01.02.03.04', '0102030405', 'abc', '+33701020304'], 'Bonjour', { spaceId: '123' });
    expect(p.messages).toEqual([{ to: '123@mailtoSMS.fr', subject: '0601020304;0701020304', text: 'Bonjour', numbers: ['0601020304', '0701020304'] }]);
    expect(p.rejected.map((r) => r.number)).toEqual(['0102030405', 'abc']);
    expect(p.duplicates).toEqual(['06.01.02.03.04']);
  });
  it('21 numbers: refused, or split into messages of at most 20', () => {
    const nums = Array.from({ length: 21 }, (_, i) => `06000000${String(i).padStart(2, '0')}`);
    expect(planMail2Sms(nums, 'x', { spaceId: '1' }).errors[0]).toMatch(/21 numbers.*20 per message/);
    expect(planMail2Sms(nums, 'x', { spaceId: '1', split: true }).messages.map((m) => m.numbers.length)).toEqual([20, 1]);
  });
  it('601 characters are refused; #SMS# tags wrap the text on request and are read back', () => {
    expect(planMail2Sms(['0601020304'], 'é'.repeat(601), { spaceId: '1' }).errors[0]).toMatch(/601 characters.*600/);
    expect(planMail2Sms(['0601020304'], 'é'.repeat(600), { spaceId: '1' }).errors).toEqual([]);
    const m = planMail2Sms(['0601020304'], 'Ceci est un SMS de test !', { spaceId: '1', signature: true }).messages[0]!;
    expect(m.text).toBe('#SMS#Ceci est un SMS de test !#SMS#');
    expect(mail2SmsText(`${m.text}\n--\nJean Dupont\nSociété`)).toBe('Ceci est un SMS de test !');
  });
});

describe('platform replies', () => {
  it('email trigger success and failure (guide lines 10065, 10071), French and English', () => {
    expect(parseReply(REPLY_TEXTS.triggerSuccess('fr', 1552, '43', 12, '15/01/2027 09:00:00'))).toEqual({
      kind: 'trigger-success',
      broadcastId: '1552',
      scenarioId: '43',
      contacts: 12,
      date: '15/01/2027 09:00:00',
    });
    expect(parseReply(REPLY_TEXTS.triggerSuccess('en', 7, '4', 1, '2027-01-15 09:00:00'))).toMatchObject({
      kind: 'trigger-success',
      broadcastId: '7',
      contacts: 1,
    });
    expect(parseReply(`Bonjour,\n\n${REPLY_TEXTS.triggerFailure('fr', 'Le paramètre scenarioId est obligatoire')}\n\nCordialement`)).toEqual({
      kind: 'trigger-failure',
      cause: 'Le paramètre scenarioId est obligatoire',
    });
    expect(parseReply(REPLY_TEXTS.triggerFailure('en', 'missing serviceId'))).toEqual({ kind: 'trigger-failure', cause: 'missing serviceId' });
  });
  it('mail2sms confirmation, failure and report from the guide examples', () => {
    expect(parseReply(ex('mail2sms/confirmation.txt'))).toEqual({
      kind: 'mail2sms-confirmation',
      text: 'Bonjour. Merci de nous rappeler au 0102030405. Votre Agence.',
      recipients: ['0601020304', '0601020305'],
    });
    expect(parseReply(ex('mail2sms/failure.txt'))).toEqual({
      kind: 'mail2sms-failure',
      cause: 'Expéditeur non autorisé à déclencher la fonctionnalité Mail2SMS.',
    });
    expect(parseReply(ex('mail2sms/report.txt'))).toEqual({
      kind: 'mail2sms-report',
      date: '09/09/2014 16:03:08',
      text: 'Bonjour. Merci de nous rappeler au 0102030405. Votre Agence.',
      results: { 'SMS reçus': ['0601020304', '0601020305'] },
    });
  });
  it('the simulator writes what the parser reads', () => {
    const rep = REPLY_TEXTS.mail2smsReport('01/02/2027', '10:00:00', 'Salut', { 'SMS reçus': ['0601020304'], 'SMS non reçus': ['0601020305'] });
    expect(parseReply(rep)).toEqual({
      kind: 'mail2sms-report',
      date: '01/02/2027 10:00:00',
      text: 'Salut',
      results: { 'SMS reçus': ['0601020304'], 'SMS non reçus': ['0601020305'] },
    });
    expect(parseReply(REPLY_TEXTS.mail2smsConfirmation('Salut', ['0601020304']))).toEqual({
      kind: 'mail2sms-confirmation',
      text: 'Salut',
      recipients: ['0601020304'],
    });
  });
  it('anything else is not a reply', () => {
    expect(parseReply('Bonjour, ceci est une publicité.')).toBeUndefined();
  });
});
