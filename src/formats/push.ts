/**
 * The CRA push (guide §2.9, lines 6729-6930): the platform POSTs an XML
 * `<status_report username="...">` holding one or more media elements
 * (`sms`, `mms`, `mail`, `fax`, `call`, `notif`), each with the contact's
 * last status in its attributes and the history in `<status>` children.
 *
 * Read leniently where the guide is loose, strictly where input is hostile:
 * - no XML declaration (the notification examples, lines 6914 and 6922) and
 *   dates with a literal ` CET` whatever the season (lines 6900-6926) are
 *   accepted; the date is kept as the Paris wall-clock time it reads as;
 * - `<vxml_info>` and `<transfer>` are taken inside `<status>` (the schema,
 *   line 6740) or beside it in the media element (the example, 6886-6888);
 * - a `<!DOCTYPE` is refused (no DTD, no entity is ever expanded), and the
 *   body size, element count and depth are capped by the caller's limits.
 * A report that breaks any rule throws PushFormatError with a one-line reason.
 */
import { SaxesParser, type SaxesTagPlain } from 'saxes';

export const PUSH_MEDIA = ['sms', 'mms', 'mail', 'fax', 'call', 'notif'] as const;
export type PushMedium = (typeof PUSH_MEDIA)[number];

/**
 * The status types in the order the guide chains them (lines 6789-6798),
 * then CLICK (notification example, line 6926). Two statuses of one
 * contact with the same date are ordered by this rank.
 */
export const PUSH_STATUS_RANK: Readonly<Record<string, number>> = {
  CONVERTED: 1,
  SENT: 2,
  ESTABLISHED: 3,
  TRANSFERED: 4,
  ERROR: 5,
  ABORTED: 5,
  RECEIVED: 6,
  ENDED: 7,
  ANSWERED: 8,
  CLICK: 9,
};

/** One entry of a contact's history (a `<status>` element). */
export interface PushHistoryEntry {
  readonly type: string;
  /** `YYYY-MM-DD HH:mm:ss`, Paris wall-clock time (a trailing ` CET` dropped). */
  readonly date: string;
  /** Position in the element's history, from 0: same-second statuses keep it. */
  readonly seq: number;
  readonly code?: string;
  readonly info?: string;
  /** time, amd, size, page, and the voice details (vxml_info, transfer) when present. */
  readonly detail?: Readonly<Record<string, string>>;
}

/** One media element: a contact's status and its history. */
export interface PushElement {
  readonly medium: PushMedium;
  readonly to: string;
  readonly status: string;
  readonly callId: string;
  readonly broadcastId: string;
  readonly contactId: string;
  readonly refExterne: string;
  readonly spaceId: string;
  readonly date: string;
  readonly history: readonly PushHistoryEntry[];
  /** `<vxml_info>` and `<transfer>` attributes, prefixed (`vxml_voicemail`, `transfer_to`), wherever they were. */
  readonly voice?: Readonly<Record<string, string>>;
}

export interface PushReport {
  readonly username: string;
  readonly elements: readonly PushElement[];
}

export interface PushLimits {
  /** Elements of any kind in one report (default 20,000). */
  readonly maxElements?: number;
}

export class PushFormatError extends Error {
  override readonly name = 'PushFormatError';
}

const DATE = /^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})(?: ?(?:CET|CEST))?$/;
const MAX_DEPTH = 6;

function pushDate(value: string | undefined, where: string): string {
  const m = DATE.exec((value ?? '').trim());
  if (!m?.[1]) throw new PushFormatError(`${where}: date '${(value ?? '').slice(0, 40)}' is not YYYY-MM-DD HH:mm:ss`);
  return m[1];
}

const attr = (tag: SaxesTagPlain, name: string): string | undefined => {
  const v = tag.attributes[name];
  return typeof v === 'string' ? v : undefined;
};

/**
 * Parses one status report. `text` is the decoded body (UTF-8 is what the
 * guide's declaration says; the caller decodes).
 * @example parsePushReport('<status_report username="1"><sms to="+336..." .../></status_report>')
 */
export function parsePushReport(text: string, limits: PushLimits = {}): PushReport {
  const maxElements = limits.maxElements ?? 20_000;
  if (/<!DOCTYPE/i.test(text)) throw new PushFormatError('the report has a DOCTYPE: refused (no DTD or entity is ever read)');
  const parser = new SaxesParser({ xmlns: false, position: true });
  let username: string | undefined;
  let rootSeen = false;
  let depth = 0;
  let count = 0;
  const elements: PushElement[] = [];
  let current: { el: Omit<PushElement, 'history' | 'voice'>; history: PushHistoryEntry[]; voice: Record<string, string> } | undefined;
  let failure: PushFormatError | undefined;
  const fail = (why: string): never => {
    throw new PushFormatError(`line ${parser.line}: ${why}`);
  };
  parser.on('doctype', () => fail('a DOCTYPE is refused'));
  parser.on('error', (e) => {
    failure ??= new PushFormatError(`malformed XML: ${e.message.split('\n')[0]}`);
  });
  parser.on('opentag', (tag) => {
    depth++;
    if (++count > maxElements) fail(`more than ${maxElements} elements: split the report`);
    if (depth > MAX_DEPTH) fail(`elements nested deeper than ${MAX_DEPTH}`);
    const name = tag.name;
    if (depth === 1) {
      if (name !== 'status_report') fail(`the root is <${name.slice(0, 40)}>, not <status_report>`);
      rootSeen = true;
      username = attr(tag, 'username') ?? '';
      return;
    }
    if (depth === 2) {
      if (!(PUSH_MEDIA as readonly string[]).includes(name)) fail(`<${name.slice(0, 40)}> is not a medium (${PUSH_MEDIA.join(', ')})`);
      const need = (k: string): string => {
        const v = attr(tag, k);
        if (v === undefined || v.trim() === '') fail(`<${name}> has no ${k}`);
        return v!.trim();
      };
      current = {
        el: {
          medium: name as PushMedium,
          to: need('to'),
          status: need('status').toUpperCase(),
          callId: attr(tag, 'call_id')?.trim() ?? '',
          broadcastId: need('broadcast_id'),
          contactId: need('contact_id'),
          refExterne: attr(tag, 'ref_externe')?.trim() ?? '',
          spaceId: attr(tag, 'space_id')?.trim() ?? '',
          date: pushDate(attr(tag, 'date'), `<${name}> (line ${parser.line})`),
        },
        history: [],
        voice: {},
      };
      return;
    }
    if (!current) return;
    if (name === 'status' && depth === 3) {
      const detail: Record<string, string> = {};
      for (const k of ['time', 'amd', 'size', 'page']) {
        const v = attr(tag, k);
        if (v !== undefined) detail[k] = v;
      }
      const type = (attr(tag, 'type') ?? '').trim().toUpperCase();
      if (!type) fail('<status> has no type');
      const code = attr(tag, 'code');
      const info = attr(tag, 'info');
      current.history.push({
        type,
        date: pushDate(attr(tag, 'date'), `<status> (line ${parser.line})`),
        seq: current.history.length,
        ...(code !== undefined ? { code } : {}),
        ...(info !== undefined ? { info } : {}),
        ...(Object.keys(detail).length ? { detail } : {}),
      });
      return;
    }
    if (name === 'vxml_info' || name === 'transfer') {
      const prefix = name === 'vxml_info' ? 'vxml_' : 'transfer_';
      for (const [k, v] of Object.entries(tag.attributes)) if (typeof v === 'string') current.voice[`${prefix}${k}`] = v;
      return;
    }
    // Elements the guide does not name are skipped (counted and depth-capped all the same).
  });
  parser.on('closetag', () => {
    if (depth === 2 && current) {
      const { el, history, voice } = current;
      // An element without history has its own status as its only entry.
      const h = history.length ? history : [{ type: el.status, date: el.date, seq: 0 }];
      elements.push({ ...el, history: h, ...(Object.keys(voice).length ? { voice } : {}) });
      current = undefined;
    }
    depth--;
  });
  try {
    parser.write(text).close();
  } catch (e) {
    if (e instanceof PushFormatError) throw e;
    throw new PushFormatError(`malformed XML: ${(e as Error).message.split('\n')[0]}`);
  }
  if (failure) throw failure;
  if (!rootSeen) throw new PushFormatError('the body holds no <status_report>');
  if (elements.length === 0) throw new PushFormatError('the report holds no media element (sms, mms, mail, fax, call, notif)');
  return { username: username ?? '', elements };
}

/** The history entry that is the contact's latest: the last by date, then by the guide's chain, then by position. */
export function latestOf(history: readonly PushHistoryEntry[]): PushHistoryEntry {
  return history.reduce((best, h) => (sortKey(h) > sortKey(best) ? h : best));
}

/** A key that orders a contact's statuses: date, then the guide's chain, then position in the history. */
export function sortKey(h: Pick<PushHistoryEntry, 'date' | 'type' | 'seq'>): string {
  return `${h.date}|${String(PUSH_STATUS_RANK[h.type] ?? 0).padStart(2, '0')}|${String(h.seq).padStart(4, '0')}`;
}

/** What a status means for the contact: delivered, failed, or not yet known. */
export function finalOf(medium: PushMedium, type: string): 'delivered' | 'failed' | 'pending' {
  if (type === 'ERROR' || type === 'ABORTED') return 'failed';
  if (type === 'RECEIVED' || type === 'ANSWERED' || type === 'CLICK' || type === 'ENDED') return 'delivered';
  // SMS and notifications confirm reception (RECEIVED, line 6796); MMS, email and fax end at SENT (line 6792).
  if (type === 'SENT' && (medium === 'mms' || medium === 'mail' || medium === 'fax')) return 'delivered';
  return 'pending';
}

/** One status report as the platform writes it (the simulator's pusher and the tests). */
export function writePushReport(username: string, elements: readonly PushElement[]): string {
  const esc = (s: string): string =>
    s
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/[\r\n\t]/g, ' ');
  const attrs = (o: Readonly<Record<string, string | undefined>>): string =>
    Object.entries(o)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => ` ${k}="${esc(v!)}"`)
      .join('');
  let out = `<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n<status_report${attrs({ username })}>\n`;
  for (const e of elements) {
    out += `  <${e.medium}${attrs({ to: e.to, status: e.status, call_id: e.callId, broadcast_id: e.broadcastId, contact_id: e.contactId, ref_externe: e.refExterne, space_id: e.spaceId, date: e.date })}>\n`;
    for (const h of e.history) out += `    <status${attrs({ date: h.date, type: h.type, ...(h.detail ?? {}), code: h.code, info: h.info })}/>\n`;
    const vxml: Record<string, string> = {};
    const transfer: Record<string, string> = {};
    for (const [k, v] of Object.entries(e.voice ?? {})) {
      if (k.startsWith('vxml_')) vxml[k.slice(5)] = v;
      else if (k.startsWith('transfer_')) transfer[k.slice(9)] = v;
    }
    if (Object.keys(vxml).length) out += `    <vxml_info${attrs(vxml)}/>\n`;
    if (Object.keys(transfer).length) out += `    <transfer${attrs(transfer)}/>\n`;
    out += `  </${e.medium}>\n`;
  }
  return `${out}</status_report>\n`;
}
