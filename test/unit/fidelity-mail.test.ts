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

describe('mail2sms replies, by their wording in any layout (guide lines 10424-10466)', () => {
  it('the confirmation: the SMS text and the recipients, with or without rules and bullets, wrapped or not', async () => {
    const { parseReply } = await import('../../src/formats/mail.js');
    const text = 'Bonjour. Merci de nous rappeler au 0102030405. Votre Agence.';
    const layouts = [
      // As extracted from the guide.
      `Votre demande a été traitée avec succès.\n\nTexte du SMS :\n\n---\n\n${text}\n\n---\n\nDestinataires :\n\n- 0601020304\n\n- 0601020305\n`,
      // Plain: no rules, no bullets, numbers on one line.
      `Votre demande a été traitée avec succès.\nTexte du SMS :\n${text}\nDestinataires : 0601020304, 0601020305\n`,
      // Wrapped at a mail client's width, bullets as dots, an HTML part turned into text.
      `Votre demande a été traitée avec succès.\n\nTexte du SMS :\nBonjour. Merci de nous rappeler au\n0102030405. Votre Agence.\n\nDestinataires :\n• 06 01 02 03 04\n• 06.01.02.03.05\n\nEn cas d'échec, un email vous précise la cause.\n`,
      `Votre demande a été traitée avec succès. Texte du SMS : ${text} Destinataires : 0601020304 0601020305`,
    ];
    for (const body of layouts) {
      const r = parseReply(body);
      expect(r, body).toEqual({ kind: 'mail2sms-confirmation', text, recipients: ['0601020304', '0601020305'] });
    }
  });

  it('the report 30 minutes later: its date, the text and each result with its numbers', async () => {
    const { parseReply } = await import('../../src/formats/mail.js');
    const text = 'Rappel : votre RDV est demain à 10h.';
    const layouts = [
      `Résultat de votre envoi du 09/09/2014 à 16:03:08 du message\n\n---\n\n${text}\n\n---\n\nSMS reçus :\n\n- 0601020304\n\n- 0601020305\n\nSMS non reçus :\n\n- 0601020306\n`,
      `Résultat de votre envoi du 09/09/2014 à 16:03:08 du message :\n${text}\nSMS reçus : 0601020304, 0601020305\nSMS non reçus : 0601020306\n`,
    ];
    for (const body of layouts) {
      expect(parseReply(body), body).toEqual({
        kind: 'mail2sms-report',
        date: '09/09/2014 16:03:08',
        text,
        results: { 'SMS reçus': ['0601020304', '0601020305'], 'SMS non reçus': ['0601020306'] },
      });
    }
  });
});

describe("the platform's email-trigger replies (guide lines 10065-10073)", () => {
  it('end with "Cordialement." as the guide\'s, and still parse', async () => {
    const { parseReply, REPLY_TEXTS } = await import('../../src/formats/mail.js');
    const ok = REPLY_TEXTS.triggerSuccess('fr', 1234, '40', 3, '15/01/2027 09:00:00');
    expect(ok.trim().endsWith('\n\nCordialement.')).toBe(true);
    expect(parseReply(ok)).toEqual({ kind: 'trigger-success', broadcastId: '1234', scenarioId: '40', contacts: 3, date: '15/01/2027 09:00:00' });
    const ko = REPLY_TEXTS.triggerFailure('fr', 'serviceId manquant');
    expect(ko.trim().endsWith('\n\nCordialement.')).toBe(true);
    expect(parseReply(ko)).toEqual({ kind: 'trigger-failure', cause: 'serviceId manquant' });
  });
});

describe('docs/cli.md documents every kind of reply `mail replies --json` prints', () => {
  it('each documented object is what parseReply returns for the matching platform text', async () => {
    const { parseReply, REPLY_TEXTS } = await import('../../src/formats/mail.js');
    const doc = /<!-- reply-kinds -->\s*```json\n([\s\S]*?)```/.exec(readFileSync(join(repo, 'docs/cli.md'), 'utf8'))![1]!;
    const documented = doc
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string });
    const actual = [
      parseReply(REPLY_TEXTS.triggerSuccess('fr', 1234, '40', 3, '15/01/2027 09:00:00')),
      parseReply(REPLY_TEXTS.triggerFailure('fr', 'serviceId manquant')),
      parseReply(REPLY_TEXTS.mail2smsConfirmation('Bonjour.', ['0601020304'])),
      parseReply(REPLY_TEXTS.mail2smsFailure('Expéditeur non autorisé à déclencher la fonctionnalité Mail2SMS.')),
      parseReply(REPLY_TEXTS.mail2smsReport('09/09/2014', '16:03:08', 'Bonjour.', { 'SMS reçus': ['0601020304'] })),
    ];
    expect(actual).toEqual(documented);
  });
});

describe('email trigger documents (issue #19.5)', () => {
  it('takes the closed list of lines 10050-10057 only: .htm and .jpeg are refused before sending', async () => {
    writeFileSync(join(dir, 'html.yaml'), readFileSync(join(repo, 'templates/email-html.yaml'), 'utf8'));
    for (const [name, ok] of [
      ['page.htm', false],
      ['photo.jpeg', false],
      ['photo.jpg', true],
    ] as const) {
      writeFileSync(join(dir, name), 'x');
      const r = await prepareEmailTrigger({ source: join(dir, 'html.yaml'), documents: [join(dir, name)] });
      const refused = r.findings.some((f) => f.code === 'E_DOCUMENT_TYPE' && f.message.startsWith(name));
      expect(refused, name).toBe(!ok);
    }
  });
});
