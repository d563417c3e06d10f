import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, loadConfig, type MailConfig, type ResolvedConfig } from '../config/config.js';
import { prepareEmailTrigger } from '../files/email-trigger.js';
import { planMail2Sms, type Reply } from '../formats/mail.js';
import { parseMapping } from '../formats/si-export.js';
import { processReplies, watchReplies, type ReplyEvent } from '../transport/imap.js';
import { cliLogger, type Logger } from '../transport/logger.js';
import { MailStore, type SentRecord } from '../transport/mail-store.js';
import { Mailer } from '../transport/smtp.js';
import { EXIT, formatFinding, parseSeconds, sortFindings, UsageError, type Io } from './output.js';
import { requireFile } from './options.js';

function mailOf(config: ResolvedConfig): MailConfig {
  if (!config.mail)
    throw new ConfigError('CONFIG_INVALID', `${config.file}: no mail section: mail and mail2sms need one (docs/config.md)`, config.file, 'mail');
  return config.mail;
}

export function describeReply(r: Reply): string {
  switch (r.kind) {
    case 'trigger-success':
      return `accepted: broadcast ${r.broadcastId} (scenario ${r.scenarioId}), ${r.contacts} contact(s), started ${r.date}`;
    case 'trigger-failure':
      return `refused: ${r.cause}`;
    case 'mail2sms-confirmation':
      return `mail2sms accepted for ${r.recipients.join(', ')}`;
    case 'mail2sms-failure':
      return `mail2sms refused: ${r.cause}`;
    case 'mail2sms-report':
      return `mail2sms report of ${r.date}: ${Object.entries(r.results)
        .map(([k, v]) => `${k} ${v.length}`)
        .join(', ')}`;
    default:
      return 'reply';
  }
}

/**
 * Polls the mailbox until each message has a reply, or the timeout. Every
 * platform reply read here is marked seen, so `mail replies` will not show it
 * again: each is printed, not only the first for each message (a mail2sms
 * delivery report can arrive in the same poll as its confirmation).
 */
async function waitReplies(mail: MailConfig, store: MailStore, ids: string[], timeout: number, logger: Logger, io: Io): Promise<Map<string, Reply>> {
  const got = new Map<string, Reply>();
  const end = Date.now() + timeout * 1000;
  while (got.size < ids.length && Date.now() < end) {
    for (const e of await processReplies(mail, store, logger)) {
      if (!e.reply) continue; // not a DMC reply: left unseen for `mail replies`
      if (!e.matched) {
        io.out(`reply matching no message sent from here: ${describeReply(e.reply)}`);
        continue;
      }
      if (ids.includes(e.matched.messageId) && !got.has(e.matched.messageId)) got.set(e.matched.messageId, e.reply);
      io.out(`reply to ${e.matched.messageId}: ${describeReply(e.reply)}`);
    }
    if (got.size < ids.length) await sleep(2000);
  }
  return got;
}

const digest = (s: string): string => createHash('sha256').update(s).digest('hex');

export async function runMailSend(
  source: string,
  opts: {
    config: string;
    contacts?: string;
    contactsInBody?: boolean;
    document?: string[];
    map?: string[];
    wait?: boolean;
    timeout?: string;
    logLevel?: string;
  },
  io: Io,
): Promise<number> {
  await requireFile(source, 'trigger or command file');
  if (opts.contacts) await requireFile(opts.contacts, 'contacts export');
  const config = await loadConfig(opts.config);
  const mail = mailOf(config);
  const mapping = parseMapping(opts.map ?? []);
  if (mapping.problems.length) throw new UsageError(`--map: ${mapping.problems.join('; ')}`);
  const prepared = await prepareEmailTrigger({
    source,
    ...(opts.contacts ? { contacts: opts.contacts } : {}),
    documents: opts.document ?? [],
    map: mapping.map,
    contactsInBody: opts.contactsInBody ?? false,
  });
  for (const f of sortFindings(prepared.findings)) io.err(formatFinding(f.line !== undefined && opts.contacts ? opts.contacts : source, f));
  if (!prepared.ok) {
    io.err(`${source}: invalid; nothing sent`);
    return EXIT.INVALID;
  }
  if (prepared.command?.serviceId !== config.service.serviceId) {
    io.err(`${source}: serviceId ${prepared.command?.serviceId} is not the configured service ${config.service.serviceId}; nothing sent`);
    return EXIT.INVALID;
  }
  const logger = cliLogger(opts.logLevel ?? 'warn');
  const mailer = new Mailer(mail, logger);
  const store = new MailStore(mail.stateDir);
  try {
    const sent = await mailer.send({ to: mail.platformAddress, subject: prepared.subject, text: prepared.body, attachments: prepared.attachments });
    await store.sent({
      messageId: sent.messageId,
      kind: 'email-trigger',
      to: mail.platformAddress,
      subject: prepared.subject,
      sentAt: new Date().toISOString(),
      digest: digest(prepared.body),
    });
    io.out(`sent to ${mail.platformAddress} as ${sent.messageId}: ${prepared.contacts} contact(s), ${prepared.attachments.length} attachment(s)`);
    for (const w of sent.warnings) io.err(`warning: ${w}`);
  } finally {
    mailer.close();
  }
  if (!opts.wait) return EXIT.OK;
  const [last] = (await store.all()).slice(-1);
  const got = await waitReplies(
    mail,
    store,
    [last!.messageId],
    opts.timeout !== undefined ? parseSeconds(opts.timeout, '--timeout') : mail.replyTimeout,
    logger,
    io,
  );
  const reply = got.get(last!.messageId);
  if (!reply) {
    io.err(
      `no reply within ${opts.timeout ?? mail.replyTimeout} s: is ${mail.from} an allowed sender of the service, and ${mail.platformAddress} the platform's address?`,
    );
    return EXIT.TRANSPORT;
  }
  return reply.kind === 'trigger-success' ? EXIT.OK : EXIT.INVALID;
}

export async function runMail2Sms(
  opts: {
    config: string;
    to: string;
    text?: string;
    textFile?: string;
    split?: boolean;
    signature?: boolean;
    wait?: boolean;
    timeout?: string;
    logLevel?: string;
  },
  io: Io,
): Promise<number> {
  const config = await loadConfig(opts.config);
  const mail = mailOf(config);
  if (!config.service.spaceId)
    throw new ConfigError(
      'CONFIG_INVALID',
      `${config.file}: service.spaceId is needed for mail2sms (the address is <spaceId>@${mail.mail2smsDomain})`,
      config.file,
      'service.spaceId',
    );
  const text = opts.textFile ? await readFile(opts.textFile, 'utf8') : opts.text;
  if (text === undefined) throw new UsageError('give --text or --text-file');
  const plan = planMail2Sms([opts.to], text, {
    spaceId: config.service.spaceId,
    split: opts.split ?? false,
    signature: opts.signature ?? mail.signature,
    domain: mail.mail2smsDomain,
  });
  for (const r of plan.rejected) io.err(`rejected ${r.number}: ${r.reason}`);
  for (const d of plan.duplicates) io.err(`duplicate ${d}: sent once`);
  if (plan.errors.length || plan.rejected.length) {
    for (const e of plan.errors) io.err(`error: ${e}`);
    io.err('nothing sent');
    return EXIT.INVALID;
  }
  const logger = cliLogger(opts.logLevel ?? 'warn');
  const mailer = new Mailer(mail, logger);
  const store = new MailStore(mail.stateDir);
  const ids: string[] = [];
  try {
    for (const m of plan.messages) {
      const sent = await mailer.send({ to: m.to, subject: m.subject, text: m.text });
      await store.sent({
        messageId: sent.messageId,
        kind: 'mail2sms',
        to: m.to,
        subject: m.subject,
        sentAt: new Date().toISOString(),
        digest: digest(m.text),
      } satisfies SentRecord);
      ids.push(sent.messageId);
      io.out(`sent to ${m.to} for ${m.numbers.length} number(s) as ${sent.messageId}`);
      if (ids.length === 1) for (const w of sent.warnings) io.err(`warning: ${w}`);
    }
  } finally {
    mailer.close();
  }
  if (!opts.wait) return EXIT.OK;
  const got = await waitReplies(mail, store, ids, opts.timeout !== undefined ? parseSeconds(opts.timeout, '--timeout') : mail.replyTimeout, logger, io);
  if (got.size < ids.length) {
    io.err(
      `no reply within ${opts.timeout ?? mail.replyTimeout} s for ${ids.length - got.size} message(s): is ${mail.from} enabled for mail2sms in the extranet?`,
    );
    return EXIT.TRANSPORT;
  }
  return [...got.values()].every((r) => r.kind === 'mail2sms-confirmation') ? EXIT.OK : EXIT.INVALID;
}

export async function runReplies(opts: { config: string; watch?: boolean; json?: boolean; logLevel?: string }, io: Io): Promise<number> {
  const config = await loadConfig(opts.config);
  const mail = mailOf(config);
  const logger = cliLogger(opts.logLevel ?? 'warn');
  const store = new MailStore(mail.stateDir);
  const print = (e: ReplyEvent): void => {
    if (opts.json) {
      io.out(JSON.stringify({ uid: e.uid, from: e.from, subject: e.subject, date: e.date, reply: e.reply ?? null, answers: e.matched?.messageId ?? null }));
      return;
    }
    io.out(
      e.reply
        ? `${e.date} ${describeReply(e.reply)}${e.matched ? ` (answers ${e.matched.messageId})` : ' (matches no message sent from here)'}`
        : `${e.date} not a DMC reply, left alone: ${e.subject}`,
    );
  };
  const overdue = async (): Promise<void> => {
    const now = Date.now();
    for (const s of await store.all()) {
      if (!s.reply && now - new Date(s.sentAt).getTime() > mail.replyTimeout * 1000) {
        io.err(
          `no reply to ${s.messageId} (${s.kind} to ${s.to}, sent ${s.sentAt}) after ${mail.replyTimeout} s: sender not allowed, wrong address, or feature not enabled?`,
        );
      }
    }
  };
  if (!opts.watch) {
    for (const e of await processReplies(mail, store, logger)) print(e);
    await overdue();
    return EXIT.OK;
  }
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await watchReplies(mail, store, logger, print, ac.signal);
  return EXIT.OK;
}
