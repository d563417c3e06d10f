/**
 * Sending mail (nodemailer over SMTP, STARTTLS required by default): email
 * triggers and mail2sms messages leave through here.
 */
import nodemailer, { type Transporter } from 'nodemailer';
import type { MailConfig } from '../config/config.js';
import type { Logger } from './logger.js';
import { TransportError } from './transport.js';

export interface OutgoingMail {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly attachments?: readonly { readonly filename: string; readonly content: Buffer; readonly contentType?: string }[];
}

export interface SentMail {
  readonly messageId: string;
  readonly accepted: readonly string[];
  /** What was allowed but unwise on this send (credentials the server did not ask for, a login in clear). */
  readonly warnings: readonly string[];
}

/** What nodemailer's SMTP connection said about one send (read from its log entries, never forwarded: they name the user). */
interface SmtpObservation {
  authenticated: boolean;
  tls: boolean;
}

export class Mailer {
  private readonly transporter: Transporter;
  private seen: SmtpObservation = { authenticated: false, tls: false };

  constructor(
    private readonly mail: MailConfig,
    private readonly logger: Logger,
  ) {
    const s = mail.smtp;
    const observe = (entry: unknown, message?: unknown): void => {
      if ((entry as { action?: string } | undefined)?.action === 'authenticated') this.seen.authenticated = true;
      if (typeof message === 'string' && message.includes('upgraded with STARTTLS')) this.seen.tls = true;
    };
    const quiet = { trace: observe, debug: observe, info: observe, warn: observe, error: observe, fatal: observe, level: () => undefined };
    this.transporter = nodemailer.createTransport({
      host: s.host,
      port: s.port,
      secure: s.secure,
      requireTLS: s.requireTLS,
      ...(s.username ? { auth: { user: s.username, pass: s.password?.reveal() ?? '' } } : {}),
      connectionTimeout: 20_000,
      greetingTimeout: 20_000,
      socketTimeout: 60_000,
      logger: quiet as never,
    });
  }

  /** Sends one message; the platform must see it as plain text (no HTML part). */
  async send(m: OutgoingMail): Promise<SentMail> {
    this.seen = { authenticated: false, tls: this.mail.smtp.secure };
    try {
      const info = await this.transporter.sendMail({
        from: this.mail.from,
        to: m.to,
        subject: m.subject,
        text: m.text,
        attachments: (m.attachments ?? []).map((a) => ({ filename: a.filename, content: a.content, ...(a.contentType ? { contentType: a.contentType } : {}) })),
      });
      this.logger.info({ to: m.to, messageId: info.messageId }, 'mail sent');
      // Returned, not logged: the caller says them once, where its user looks.
      const warnings = this.warnings();
      return {
        messageId: info.messageId,
        accepted: (info.accepted as (string | { address: string })[]).map((x) => (typeof x === 'string' ? x : x.address)),
        warnings,
      };
    } catch (e) {
      throw smtpError(e, `${this.mail.smtp.host}:${this.mail.smtp.port}`);
    }
  }

  close(): void {
    this.transporter.close();
  }

  private warnings(): string[] {
    const s = this.mail.smtp;
    const endpoint = `${s.host}:${s.port}`;
    if (!s.username) return [];
    // nodemailer logs in only when the server offers AUTH; otherwise it sends without a word.
    if (!this.seen.authenticated)
      return [
        `the SMTP server ${endpoint} offered no AUTH: mail.smtp.username and password were not used (the message went as an unauthenticated relay would send it); remove them, or check that this is the right server and port`,
      ];
    if (!this.seen.tls)
      return [
        `the SMTP login to ${endpoint} went without TLS: the password travelled in clear; set mail.smtp.requireTLS: true (STARTTLS, port 587) or secure: true (port 465)`,
      ];
    return [];
  }
}

function smtpError(e: unknown, endpoint: string): TransportError {
  const err = e as { code?: string; response?: string; message?: string; responseCode?: number };
  const d = { command: 'SMTP', reply: err.response ?? err.message ?? '', cause: e };
  if (/wrong version number|ssl3_get_record|packet length too long|EPROTO|unknown protocol/i.test(`${err.code ?? ''} ${err.message ?? ''}`)) {
    return new TransportError(
      'CONNECT',
      `TLS handshake with ${endpoint} failed (${err.message}): with mail.smtp.secure: true the server must speak TLS at once (port 465); for a STARTTLS port (587) set secure: false`,
      d,
    );
  }
  switch (err.code) {
    case 'EAUTH':
      return new TransportError('AUTH', `SMTP login refused by ${endpoint}: check mail.smtp.username and password`, d);
    case 'ECONNECTION':
    case 'ESOCKET':
    case 'EDNS':
      return new TransportError('CONNECT', `cannot reach the SMTP server ${endpoint}: ${err.message}`, d);
    case 'ETIMEDOUT':
      return new TransportError('TIMEOUT', `the SMTP server ${endpoint} timed out`, d);
    case 'EENVELOPE':
      return new TransportError('REFUSED', `the SMTP server ${endpoint} refused the message: ${err.response ?? err.message}`, {
        ...d,
        transient: (err.responseCode ?? 500) < 500,
      });
    case 'ETLS':
      return new TransportError('CONNECT', `TLS with ${endpoint} failed: ${err.message} (mail.smtp.requireTLS)`, d);
    default:
      return new TransportError('REFUSED', `sending through ${endpoint} failed: ${err.message}`, { ...d, transient: (err.responseCode ?? 500) < 500 });
  }
}
