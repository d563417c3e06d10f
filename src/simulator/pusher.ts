/**
 * The platform's CRA push (guide §2.9), simulated: each contact's statuses
 * are POSTed, as `<status_report>` XML, to the configured URL once its call
 * has happened, with the history the guide shows per medium (SMS: SENT then
 * RECEIVED; fax: CONVERTED then SENT; voice: ESTABLISHED then ENDED with
 * `<vxml_info>`; a failure: ERROR with the annex code and label). A post not
 * answered 200 is retried at the next passes (backoff up to a minute): the
 * receiver deduplicates what comes twice.
 */
import { appendFile, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SUCCESS_CODES } from '../formats/cra.js';
import { parisTime } from '../formats/paris-time.js';
import { writePushReport, type PushElement, type PushHistoryEntry, type PushMedium } from '../formats/push.js';
import type { ContactResult } from './results.js';

/** Where the simulated platform posts its statuses. */
export interface PushTarget {
  readonly url: string;
  readonly username?: string;
  readonly password?: string;
  /** Media elements per post (default 100). */
  readonly batch?: number;
}

export type QueuedResult = ContactResult & { broadcastId: number };

const MEDIUM: Readonly<Record<string, PushMedium>> = { SMS: 'sms', MMS: 'mms', VOCAL: 'call', FAX: 'fax', EMAIL: 'mail' };

const pushDate = (ms: number): string => {
  const t = parisTime(new Date(ms));
  return `${t.date} ${t.seconds}`;
};

/** The media element the platform would post for a contact's result; undefined when no medium reached it. */
export function pushElementOf(r: QueuedResult, spaceId: string): PushElement | undefined {
  const medium = MEDIUM[/^CRA_([A-Z]+)_/.exec(r.code)?.[1] ?? ''];
  if (!medium) return undefined;
  const ok = SUCCESS_CODES.has(r.code);
  const at = (s: number): string => pushDate(r.callAt + s * 1000);
  const h: Omit<PushHistoryEntry, 'seq'>[] = [];
  const error = { type: 'ERROR', date: at(0), code: r.code, info: r.label };
  let voice: Record<string, string> | undefined;
  if (medium === 'sms')
    h.push(
      ...(ok
        ? [
            { type: 'SENT', date: at(0) },
            { type: 'RECEIVED', date: at(2) },
          ]
        : [error]),
    );
  else if (medium === 'mms' || medium === 'mail')
    h.push(
      ...(ok ? [{ type: 'SENT', date: at(0), detail: { size: '2048' } }] : [error]),
      ...(r.code === 'CRA_EMAIL_CLICK' ? [{ type: 'CLICK', date: at(60) }] : []),
    );
  else if (medium === 'fax') h.push({ type: 'CONVERTED', date: at(0) }, ok ? { type: 'SENT', date: at(0), detail: { page: '1' } } : { ...error, date: at(0) });
  else {
    h.push(
      ...(ok
        ? [
            { type: 'ESTABLISHED', date: at(0) },
            { type: 'ENDED', date: at(9), detail: { time: '9', amd: 'human' } },
          ]
        : [error]),
    );
    if (ok)
      voice = {
        vxml_voicemail: 'false',
        vxml_start: String(r.callAt),
        vxml_end: String(r.callAt + 9000),
        vxml_termination: 'disconnect',
        vxml_result: 'fin appel',
        vxml_route: 'Menu 1:1',
      };
  }
  const history = h.map((e, seq) => ({ ...e, seq }));
  const last = history[history.length - 1]!;
  return {
    medium,
    to: r.address,
    status: last.type,
    callId: `${r.broadcastId}${r.contactId}`,
    broadcastId: String(r.broadcastId),
    contactId: String(r.contactId),
    refExterne: r.externalReference,
    spaceId,
    date: last.date,
    history,
    ...(voice ? { voice } : {}),
  };
}

/** Queues a broadcast's results for the pusher (JSON lines in the account's state). */
export async function queuePush(stateDir: string, lines: string): Promise<void> {
  await appendFile(join(stateDir, 'push-queue.jsonl'), lines);
}

export interface PushPass {
  readonly posted: number;
  readonly statuses: number;
  readonly left: number;
  readonly error?: string;
}

/**
 * Posts the statuses whose call has happened; stops at the first post not
 * answered 200 (the rest waits for the next pass). The queue keeps what is
 * not yet acknowledged.
 */
export async function pushDue(stateDir: string, serviceId: string, spaceId: string, target: PushTarget, now: number): Promise<PushPass> {
  const queue = join(stateDir, 'push-queue.jsonl');
  const text = await readFile(queue, 'utf8').catch(() => '');
  if (!text.trim()) return { posted: 0, statuses: 0, left: 0 };
  const all = text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as QueuedResult);
  const due = all.filter((r) => r.callAt <= now);
  const later = all.filter((r) => r.callAt > now);
  const size = target.batch ?? 100;
  let done = 0;
  let posted = 0;
  let statuses = 0;
  let error: string | undefined;
  const headers: Record<string, string> = { 'content-type': 'text/xml; charset=UTF-8' };
  if (target.username !== undefined) headers['authorization'] = `Basic ${Buffer.from(`${target.username}:${target.password ?? ''}`).toString('base64')}`;
  while (done < due.length) {
    const slice = due.slice(done, done + size);
    const elements = slice.map((r) => pushElementOf(r, spaceId)).filter((e): e is PushElement => e !== undefined);
    if (elements.length) {
      try {
        const res = await fetch(target.url, { method: 'POST', headers, body: writePushReport(serviceId, elements), signal: AbortSignal.timeout(10_000) });
        await res.arrayBuffer();
        if (res.status !== 200) {
          error = `the receiver answered ${res.status}`;
          break;
        }
      } catch (e) {
        error = `the receiver could not be reached: ${(e as Error).message}`;
        break;
      }
      posted++;
      statuses += elements.reduce((s, e) => s + e.history.length, 0);
    }
    done += slice.length;
  }
  if (done > 0) {
    const rest = [...due.slice(done), ...later];
    await writeFile(`${queue}.tmp`, rest.map((r) => `${JSON.stringify(r)}\n`).join(''));
    await rename(`${queue}.tmp`, queue);
  }
  return { posted, statuses, left: all.length - done, ...(error ? { error } : {}) };
}
