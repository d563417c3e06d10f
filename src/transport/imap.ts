/**
 * Reading the platform's replies (imapflow + mailparser). Per the field
 * notes: UIDs throughout; messages are collected under the mailbox lock and
 * acted on after the fetch loop (an IMAP command inside it deadlocks); IDLE
 * is automatic; a client cannot reconnect, so watch mode makes a new one
 * after each disconnect. Fetching uses BODY.PEEK: a mail we do not recognise
 * is left unseen and untouched.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ImapFlow } from 'imapflow';
import { simpleParser } from 'mailparser';
import type { MailConfig } from '../config/config.js';
import { parseReply, type Reply } from '../formats/mail.js';
import type { Logger } from './logger.js';
import type { MailStore, SentRecord } from './mail-store.js';
import { TransportError } from './transport.js';

export interface ReplyEvent {
  readonly uid: number;
  readonly from: string;
  readonly subject: string;
  readonly date: string;
  /** The recognised reply, or undefined (the mail is left alone). */
  readonly reply?: Reply;
  /** The message it answers, when matched. */
  readonly matched?: SentRecord;
}

const KIND_OF: Readonly<Record<Reply['kind'], SentRecord['kind']>> = {
  'trigger-success': 'email-trigger',
  'trigger-failure': 'email-trigger',
  'mail2sms-confirmation': 'mail2sms',
  'mail2sms-failure': 'mail2sms',
  'mail2sms-report': 'mail2sms',
};

/**
 * Matches a reply to what it answers: In-Reply-To / References first; then
 * the oldest message of the same kind sent before it and not yet answered
 * (for a mail2sms report: the oldest confirmed one without a report).
 */
export function matchReply(reply: Reply, refs: readonly string[], date: Date, sent: readonly SentRecord[]): SentRecord | undefined {
  const byRef = sent.find((s) => refs.includes(s.messageId));
  if (byRef) return byRef;
  const kind = KIND_OF[reply.kind];
  const candidates = sent
    .filter((s) => s.kind === kind && new Date(s.sentAt).getTime() <= date.getTime() + 60_000)
    .sort((a, b) => a.sentAt.localeCompare(b.sentAt));
  if (reply.kind === 'mail2sms-report')
    return candidates.find((s) => s.reply?.kind === 'mail2sms-confirmation' && !(s.replies ?? []).some((r) => r.kind === 'mail2sms-report'));
  return candidates.find((s) => !s.reply);
}

function client(mail: MailConfig): ImapFlow {
  const i = mail.imap;
  if (!i) throw new TransportError('PROTOCOL', 'mail.imap is not configured: replies cannot be read (docs/config.md)');
  return new ImapFlow({
    host: i.host,
    port: i.port,
    secure: i.secure,
    auth: { user: i.username, pass: i.password?.reveal() ?? '' },
    logger: false,
    emitLogs: false,
  });
}

function imapError(e: unknown, mail: MailConfig): TransportError {
  if (e instanceof TransportError) return e;
  const err = e as { authenticationFailed?: boolean; code?: string; message?: string };
  const where = `${mail.imap?.host}:${mail.imap?.port}`;
  if (err.authenticationFailed) return new TransportError('AUTH', `IMAP login refused by ${where}: check mail.imap.username and password`, { cause: e });
  if (err.code === 'ECONNREFUSED' || err.code === 'ENOTFOUND')
    return new TransportError('CONNECT', `cannot reach the IMAP server ${where}: ${err.code}`, { cause: e });
  // TLS spoken to a plain port (or the reverse): OpenSSL's words alone ("wrong version number") name no setting.
  if (/wrong version number|ssl3_get_record|packet length too long|EPROTO|unknown protocol/i.test(`${err.code ?? ''} ${err.message ?? ''}`)) {
    return new TransportError(
      'CONNECT',
      mail.imap?.secure
        ? `TLS handshake with ${where} failed (${err.message}): the server does not speak TLS at once on this port; set mail.imap.secure: false for a plain or STARTTLS port (143), or use its TLS port (993)`
        : `the IMAP server ${where} expects TLS at once: set mail.imap.secure: true (port 993)`,
      { cause: e },
    );
  }
  return new TransportError('CONNECTION_LOST', `IMAP session with ${where} failed: ${err.message ?? String(e)}`, { cause: e });
}

/**
 * Moves the handled replies to `moveTo`, written with `/` in the config: the
 * folder is created when missing, with the server's own hierarchy separator
 * (Dovecot's default layout uses `.`: `DMC/Processed` as written is refused).
 * A move that fails is an error: the replies would otherwise be read and
 * recorded again at every run.
 */
async function moveReplies(imap: ImapFlow, uids: number[], moveTo: string, box: string): Promise<void> {
  const made = await imap.mailboxCreate(moveTo.split('/').filter(Boolean));
  const target = made?.path ?? moveTo;
  const moved = await imap.messageMove(uids, target, { uid: true });
  if (!moved) {
    throw new TransportError(
      'REFUSED',
      `the replies could not be moved to ${target} (mail.imap.moveTo): they stay in ${box}, unseen, and will be read again; check the folder name and your rights on it`,
    );
  }
}

/** One pass over the mailbox: recognise, match, record, then mark seen or move. */
export async function processReplies(mail: MailConfig, store: MailStore, logger: Logger, c?: ImapFlow): Promise<ReplyEvent[]> {
  const own = !c;
  const imap = c ?? client(mail);
  const events: ReplyEvent[] = [];
  try {
    if (own) await imap.connect();
    const box = mail.imap!.mailbox;
    const raw: { uid: number; source: Buffer }[] = [];
    const lock = await imap.getMailboxLock(box);
    try {
      const uids = (await imap.search({ seen: false }, { uid: true })) || [];
      if (uids.length > 0) {
        for await (const m of imap.fetch(uids, { uid: true, source: true }, { uid: true })) if (m.source) raw.push({ uid: m.uid, source: m.source });
      }
    } finally {
      lock.release();
    }
    const sent = await store.all();
    const handled: number[] = [];
    for (const m of raw) {
      const parsed = await simpleParser(m.source);
      const text = parsed.text ?? (typeof parsed.html === 'string' ? parsed.html.replace(/<[^>]+>/g, ' ') : '');
      const reply = parseReply(text);
      const refs = [parsed.inReplyTo, ...(Array.isArray(parsed.references) ? parsed.references : parsed.references ? [parsed.references] : [])].filter(
        (x): x is string => !!x,
      );
      const date = parsed.date ?? new Date();
      const ev = { uid: m.uid, from: parsed.from?.text ?? '', subject: parsed.subject ?? '', date: date.toISOString() };
      if (!reply) {
        logger.info({ uid: m.uid, from: ev.from, subject: ev.subject }, 'mail not recognised as a DMC reply; left alone');
        events.push(ev);
        continue;
      }
      const matched = matchReply(reply, refs, date, sent);
      if (matched) {
        const rec = { ...reply, at: date.toISOString(), ...(parsed.messageId ? { replyMessageId: parsed.messageId } : {}) };
        await store.replied(matched.messageId, rec);
        if (!matched.reply) matched.reply = rec;
        else (matched.replies ??= []).push(rec);
      } else {
        logger.warn({ uid: m.uid, kind: reply.kind }, 'DMC reply matches no message sent from here');
      }
      handled.push(m.uid);
      events.push({ ...ev, reply, ...(matched ? { matched } : {}) });
    }
    if (handled.length > 0) {
      const lock2 = await imap.getMailboxLock(box);
      try {
        if (mail.imap!.moveTo) await moveReplies(imap, handled, mail.imap!.moveTo, box);
        else await imap.messageFlagsAdd(handled, ['\\Seen'], { uid: true });
      } finally {
        lock2.release();
      }
    }
    return events;
  } catch (e) {
    throw imapError(e, mail);
  } finally {
    if (own) await imap.logout().catch(() => undefined);
  }
}

/**
 * Watches the mailbox (IDLE) and processes replies as they arrive, until
 * `signal` aborts. A lost connection is replaced by a new client after a
 * pause that grows up to a minute.
 */
export async function watchReplies(mail: MailConfig, store: MailStore, logger: Logger, onEvent: (e: ReplyEvent) => void, signal: AbortSignal): Promise<void> {
  let pause = 1000;
  while (!signal.aborted) {
    const imap = client(mail);
    try {
      await imap.connect();
      pause = 1000;
      while (!signal.aborted && imap.usable) {
        for (const e of await processReplies(mail, store, logger, imap)) onEvent(e);
        // Idle (IMAP IDLE, automatic) until new mail, a disconnect, the end, or a safety poll.
        await new Promise<void>((res) => {
          const timer = setTimeout(done, 300_000);
          timer.unref();
          function done(): void {
            clearTimeout(timer);
            imap.off('exists', done);
            imap.off('close', done);
            signal.removeEventListener('abort', done);
            res();
          }
          imap.on('exists', done);
          imap.on('close', done);
          signal.addEventListener('abort', done, { once: true });
        });
      }
    } catch (e) {
      if (signal.aborted) break;
      logger.warn({ err: (e as Error).message }, 'IMAP connection lost; reconnecting');
      await sleep(pause, undefined, { signal }).catch(() => undefined);
      pause = Math.min(pause * 2, 60_000);
    } finally {
      await imap.logout().catch(() => undefined);
    }
  }
}
