/**
 * The platform's mail side: an SMTP server (smtp-server) receiving email
 * triggers (to the platform's shared address) and mail2sms messages (to
 * `<spaceId>@mailtoSMS.fr`), and an IMAP server (hoodiecrow) holding the
 * mailbox where the replies land. Only allowed senders are answered; others
 * are ignored, as the guide says (§3.3.2, §3.6).
 *
 * hoodiecrow keeps one mailbox store: every login sees the same INBOX.
 *
 * An accepted message is written to `<root>/mail-queue/` before the SMTP
 * reply (accepted means kept, across a restart too); the platform reads the
 * queue at each of its passes ("La prise en compte des Email est réalisée
 * une fois par minute", guide line 9934), mail2sms messages included.
 */
import { extensionOf, MAIL_DOCUMENT_EXTENSIONS } from '../formats/document-types.js';
import { parisTime } from '../formats/paris-time.js';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import hoodiecrow from 'hoodiecrow-imap';
import { simpleParser, type ParsedMail } from 'mailparser';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { encodeLatin9 } from '../formats/encoding.js';
import { mail2SmsText, MAIL2SMS_DOMAIN, MAIL2SMS_MAX_NUMBERS, MAIL2SMS_MAX_TEXT, normalizeMobile, PLATFORM_ADDRESS, REPLY_TEXTS } from '../formats/mail.js';
import { validateTriggerFile } from '../files/read-trigger.js';
import { accountPaths, createBroadcast, type Account, type PlatformEvent, type PlatformOptions } from './platform.js';
import { labelOf, pickResult } from './results.js';

export interface MailSideOptions {
  readonly host?: string;
  readonly smtpPort: number;
  readonly imapPort: number;
  /** Mailbox logins (the allowed senders' mail accounts). */
  readonly mailboxes: readonly { readonly address: string; readonly password: string }[];
  /** Seconds before the mail2sms delivery report (30 minutes on the platform). */
  readonly mail2smsReportDelay: number;
  readonly platformAddress?: string;
  readonly accounts: readonly Account[];
  readonly platform: () => PlatformOptions;
  readonly emit: (e: PlatformEvent) => void;
}

export interface RunningMailSide {
  readonly smtpPort: number;
  readonly imapPort: number;
  /** The platform's pass over the mail received since the last one (the simulator's tick). */
  pass(): Promise<void>;
  close(): Promise<void>;
}

const matchesSender = (list: readonly string[] | undefined, from: string): boolean =>
  (list ?? []).some((x) => (x.includes('@') ? x.toLowerCase() === from.toLowerCase() : from.toLowerCase().endsWith(`@${x.toLowerCase()}`)));

/** `DD/MM/YYYY` and `HH:MM:SS`, Paris time, as in the platform's French replies. */
const parisStamp = (d: Date): { date: string; time: string } => {
  const t = parisTime(d);
  const [y, m, day] = t.date.split('-');
  return { date: `${day}/${m}/${y}`, time: t.seconds };
};

export async function startMailSide(opts: MailSideOptions): Promise<RunningMailSide> {
  const host = opts.host ?? '127.0.0.1';
  const platformAddress = (opts.platformAddress ?? PLATFORM_ADDRESS).toLowerCase();
  const users: Record<string, { password: string }> = {};
  for (const m of opts.mailboxes) users[m.address] = { password: m.password };
  const imap = hoodiecrow({
    plugins: ['IDLE', 'UIDPLUS', 'MOVE', 'ENABLE', 'LITERALPLUS', 'SPECIAL-USE'],
    users,
    storage: { INBOX: { messages: [] }, '': { separator: '/', folders: { Processed: { messages: [] } } } },
  });
  await new Promise<void>((res) => imap.listen(opts.imapPort, host, () => res()));
  const composer = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'crlf' });
  const timers = new Set<NodeJS.Timeout>();

  async function reply(to: string, from: string, original: ParsedMail, text: string, kind: string): Promise<void> {
    const info = await composer.sendMail({
      from,
      to,
      subject: `Re: ${original.subject ?? ''}`,
      text,
      ...(original.messageId ? { inReplyTo: original.messageId, references: [original.messageId] } : {}),
    });
    imap.appendMessage('INBOX', [], new Date(), (info.message as Buffer).toString('binary'));
    opts.emit({ type: 'mail-reply', to, kind });
  }

  async function emailTrigger(account: Account, from: string, mail: ParsedMail, hasPlainText: boolean): Promise<void> {
    const p = accountPaths(opts.platform().root, account);
    const id = `${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
    const dir = join(p.state, 'mail', id);
    await mkdir(dir, { recursive: true });
    const lang = /userLang\s*:\s*en_gb/i.test(mail.text ?? '') ? 'en' : 'fr';
    const refuse = async (cause: string): Promise<void> => {
      opts.emit({ type: 'mail-refused', account: account.username, from, cause });
      await reply(from, platformAddress, mail, REPLY_TEXTS.triggerFailure(lang, cause), 'trigger-failure');
    };
    try {
      // mailparser makes a text out of an HTML-only mail: the MIME structure tells whether there was a text part.
      if (!hasPlainText) return await refuse("Le corps de l'email doit être au format texte (pas HTML)");
      if (!mail.text || !mail.text.trim()) return await refuse("Le corps de l'email est vide");
      const lines = mail.text
        .replace(/\r\n?/g, '\n')
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean);
      // The command lines first (name:value; a value may hold ';', as a text often does), then any contact lines.
      let k = 0;
      while (k < lines.length && /^[A-Za-z]+\s*:/.test(lines[k]!)) k++;
      const command = lines.slice(0, k);
      const bodyContacts = lines.slice(k).filter((l) => l.includes(';'));
      const csv = (mail.attachments ?? []).find((a) => /\.csv$/i.test(a.filename ?? ''));
      // The data files an email trigger takes are a closed list (guide lines 10050-10057).
      const other = (mail.attachments ?? []).find(
        (a) => a.filename && !/\.csv$/i.test(a.filename) && !(MAIL_DOCUMENT_EXTENSIONS as readonly string[]).includes(extensionOf(a.filename)),
      );
      if (other) return await refuse(`Le type du fichier ${other.filename} n'est pas autorisé (${MAIL_DOCUMENT_EXTENSIONS.map((e) => `.${e}`).join(', ')})`);
      for (const a of mail.attachments ?? []) {
        if (a.filename && !/\.csv$/i.test(a.filename)) await writeFile(join(dir, a.filename.replace(/[/\\]/g, '_')), a.content);
      }
      const contacts = csv ? csv.content : bodyContacts.length ? encodeLatin9(`${bodyContacts.join('\n')}\n`) : undefined;
      const head = encodeLatin9(`#COMMAND\n${command.join('\n')}\n`);
      const file = join(dir, 'trigger.csv');
      await writeFile(
        file,
        contacts ? Buffer.concat([head, encodeLatin9('#CONTACTS\n'), contacts, encodeLatin9(contacts.at(-1) === 0x0a ? '#END\n' : '\n#END\n')]) : head,
      );
      const v = await validateTriggerFile(file, { documentsDir: dir, channel: 'email', findingCap: 5 });
      const errors = v.errors.map((e) => e.message);
      if (v.command.serviceId !== undefined && v.command.serviceId !== account.serviceId)
        errors.push(`le service ${v.command.serviceId} n'est pas celui de l'expéditeur`);
      if (errors.length) return await refuse(errors[0]!);
      const { broadcastId, contacts: n } = await createBroadcast(file, p, opts.platform(), new Date());
      opts.emit({ type: 'mail-broadcast', account: account.username, from, broadcastId, contacts: n });
      const { date, time } = parisStamp(new Date());
      await reply(
        from,
        platformAddress,
        mail,
        REPLY_TEXTS.triggerSuccess(lang, broadcastId, v.command.scenarioId ?? v.command.oneTouchId ?? '', n, `${date} ${time}`),
        'trigger-success',
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async function mail2sms(account: Account, from: string, to: string, mail: ParsedMail): Promise<void> {
    const fail = (cause: string): Promise<void> => reply(from, to, mail, REPLY_TEXTS.mail2smsFailure(cause), 'mail2sms-failure');
    if (!matchesSender(account.mail2smsSenders ?? account.allowedSenders, from))
      return fail('Expéditeur non autorisé à déclencher la fonctionnalité Mail2SMS.');
    const raw = (mail.subject ?? '')
      .split(';')
      .map((x) => x.trim())
      .filter(Boolean);
    const numbers = raw.map(normalizeMobile);
    if (raw.length === 0 || numbers.some((n) => !n)) return fail('Numéro de téléphone mobile invalide dans le sujet.');
    if (raw.length > MAIL2SMS_MAX_NUMBERS) return fail(`Le nombre de destinataires dépasse ${MAIL2SMS_MAX_NUMBERS}.`);
    const text = mail2SmsText(mail.text ?? '');
    if (!text) return fail('Le texte du SMS est vide.');
    if ([...text].length > MAIL2SMS_MAX_TEXT) return fail(`Le texte du SMS dépasse ${MAIL2SMS_MAX_TEXT} caractères.`);
    const list = numbers as string[];
    await reply(from, to, mail, REPLY_TEXTS.mail2smsConfirmation(text, list), 'mail2sms-confirmation');
    const sentAt = parisStamp(new Date());
    const t = setTimeout(() => {
      timers.delete(t);
      const seed = opts.platform().seed;
      const results: Record<string, string[]> = {};
      list.forEach((n, i) => {
        const code = pickResult('sms', seed, Date.now() % 100000, i);
        const key = code === 'CRA_SMS_RECEIVED' ? 'SMS reçus' : `SMS non reçus (${labelOf(code, 'Fr_fr')})`;
        (results[key] ??= []).push(n);
      });
      void reply(from, to, mail, REPLY_TEXTS.mail2smsReport(sentAt.date, sentAt.time, text, results), 'mail2sms-report');
    }, opts.mail2smsReportDelay * 1000);
    t.unref();
    timers.add(t);
  }

  async function handle(raw: Buffer): Promise<void> {
    const mail = await simpleParser(raw);
    const headers = raw.toString('latin1');
    const hasPlainText = /^content-type:\s*text\/plain/im.test(headers) || !/^content-type:/im.test(headers.slice(0, headers.search(/\r?\n\r?\n/)));
    const from = mail.from?.value[0]?.address ?? '';
    const tos = (Array.isArray(mail.to) ? mail.to : mail.to ? [mail.to] : []).flatMap((a) => a.value.map((v) => (v.address ?? '').toLowerCase()));
    for (const to of tos) {
      if (to === platformAddress) {
        const account = opts.accounts.find((a) => matchesSender(a.allowedSenders, from));
        if (!account) {
          opts.emit({ type: 'mail-ignored', from, to, reason: 'sender not allowed for any service' });
          continue;
        }
        opts.emit({ type: 'mail-received', account: account.username, from, to, subject: mail.subject ?? '' });
        await emailTrigger(account, from, mail, hasPlainText);
      } else if (to.endsWith(`@${MAIL2SMS_DOMAIN.toLowerCase()}`)) {
        const space = to.split('@')[0];
        const account = opts.accounts.find((a) => a.spaceId === space);
        if (!account) {
          opts.emit({ type: 'mail-ignored', from, to, reason: `no space ${space}` });
          continue;
        }
        opts.emit({ type: 'mail-received', account: account.username, from, to, subject: mail.subject ?? '' });
        await mail2sms(account, from, to, mail);
      } else {
        opts.emit({ type: 'mail-ignored', from, to, reason: 'not a platform address' });
      }
    }
  }

  const queue = join(opts.platform().root, 'mail-queue');
  await mkdir(queue, { recursive: true });
  let received = 0;
  async function keep(raw: Buffer): Promise<void> {
    const name = `${Date.now().toString().padStart(15, '0')}-${String(++received).padStart(6, '0')}.eml`;
    await writeFile(join(queue, `.${name}`), raw);
    await rename(join(queue, `.${name}`), join(queue, name));
  }
  async function pass(): Promise<void> {
    const names = (await readdir(queue)).filter((n) => n.endsWith('.eml') && !n.startsWith('.')).sort();
    for (const n of names) {
      const raw = await readFile(join(queue, n));
      await handle(raw).catch((e: Error) => opts.emit({ type: 'error', account: '(mail)', message: e.message }));
      await rm(join(queue, n), { force: true });
    }
  }

  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    size: 30 * 1024 * 1024,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      // Kept before it is accepted; handled at the platform's next pass.
      stream.on('end', () => {
        keep(Buffer.concat(chunks)).then(
          () => callback(),
          (e: Error) => callback(e),
        );
      });
    },
  });
  await new Promise<void>((res, rej) => {
    smtp.once('error', rej);
    smtp.listen(opts.smtpPort, host, () => res());
  });
  return {
    smtpPort: (smtp.server.address() as AddressInfo).port,
    imapPort: (imap.server.address() as AddressInfo).port,
    pass,
    close: async () => {
      for (const t of timers) clearTimeout(t);
      await new Promise<void>((res) => smtp.close(() => res()));
      await new Promise<void>((res) => imap.close(() => res()));
    },
  };
}
