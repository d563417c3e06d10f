/**
 * The messages sent by email and mail2sms, and the replies matched to them:
 * a JSON-lines file (one line per event: sent, replied) so a reply read by a
 * later run is matched to a message sent by an earlier one.
 */
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Reply } from '../formats/mail.js';

export interface SentRecord {
  readonly messageId: string;
  readonly kind: 'email-trigger' | 'mail2sms';
  readonly to: string;
  readonly subject: string;
  readonly sentAt: string;
  /** SHA-256 of the command part or the text, to tell messages apart in logs. */
  readonly digest: string;
  reply?: Reply & { readonly at: string; readonly replyMessageId?: string };
  /** Later replies (a mail2sms delivery report after its confirmation). */
  replies?: (Reply & { readonly at: string })[];
}

export class MailStore {
  private readonly path: string;
  constructor(dir: string) {
    this.path = join(dir, 'mail-sent.jsonl');
  }

  async all(): Promise<SentRecord[]> {
    const text = await readFile(this.path, 'utf8').catch(() => '');
    const byId = new Map<string, SentRecord>();
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      const e = JSON.parse(line) as { event: 'sent'; record: SentRecord } | { event: 'reply'; messageId: string; reply: NonNullable<SentRecord['reply']> };
      if (e.event === 'sent') byId.set(e.record.messageId, e.record);
      else {
        const r = byId.get(e.messageId);
        if (!r) continue;
        if (!r.reply) r.reply = e.reply;
        else (r.replies ??= []).push(e.reply);
      }
    }
    return [...byId.values()];
  }

  async sent(r: SentRecord): Promise<void> {
    await mkdir(join(this.path, '..'), { recursive: true });
    await appendFile(this.path, `${JSON.stringify({ event: 'sent', record: r })}\n`);
  }

  async replied(messageId: string, reply: NonNullable<SentRecord['reply']>): Promise<void> {
    await appendFile(this.path, `${JSON.stringify({ event: 'reply', messageId, reply })}\n`);
  }
}
