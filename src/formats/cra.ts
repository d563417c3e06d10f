/**
 * Daily report (CRA) files (guide §3.2.6, lines 9878-9917):
 * `CRA_<serviceId>_<YYYY-MM-DD>.csv`, ISO-8859-15, `;`-separated, a header
 * `broadcastId;contactId;externalReference;name;forename;callResult;callAdress;callDate;callAttempts`
 * (`callAdress` spelled so), `callDate` as `YYYY/MM/DD HH:mm:ss`, and
 * `callResult` the human label in the broadcast's language, not the code.
 *
 * Labels are mapped back to annex 5.4 codes when the annex makes it
 * unambiguous, with the address narrowing the medium (codesForRecord); a
 * label several codes still share keeps every candidate; a label the annex
 * does not hold (the guide's own example has "Message diffusé") is reported
 * as unknown, never guessed.
 */
import { CRA_CODES, ENGLISH_LABELS, type CraCode, type CraMedium } from './cra-codes.js';
import { finding, type FindingList } from './findings.js';
import { decode, boundedLines, sniff, type ByteSource } from './text-input.js';

export const CRA_HEADER = [
  'broadcastId',
  'contactId',
  'externalReference',
  'name',
  'forename',
  'callResult',
  'callAdress',
  'callDate',
  'callAttempts',
] as const;

export interface CraRecord {
  readonly line: number;
  readonly broadcastId: string;
  readonly contactId: string;
  readonly externalReference: string;
  readonly name: string;
  readonly forename: string;
  readonly callResult: string;
  readonly callAdress: string;
  /** As written: `YYYY/MM/DD HH:mm:ss`. */
  readonly callDate: string;
  readonly callAttempts: string;
}

/** `CRA_<serviceId>_<YYYY-MM-DD>.csv`. */
export const CRA_NAME = /^CRA_([^_/\\]+)_(\d{4}-\d{2}-\d{2})\.csv$/;

export function craFileName(serviceId: string, date: string): string {
  return `CRA_${serviceId}_${date}.csv`;
}

/** The ack file name: `.ack` replacing `.csv` (default) or appended (TRIGGER-PROTOCOLS.md §1 decisions). */
export function ackName(reportName: string, naming: 'replace' | 'append'): string {
  return naming === 'append' ? `${reportName}.ack` : reportName.replace(/\.csv$/i, '') + '.ack';
}

const CALL_DATE = /^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2}$/;
const MEDIUM_PREFIX: readonly [RegExp, CraMedium][] = [
  [/^sms /i, 'sms'],
  [/^mms /i, 'mms'],
  [/^fax /i, 'fax'],
  [/^e-?mail /i, 'email'],
  [/^notification /i, 'push'],
];
const BY_LABEL = new Map<string, CraCode[]>();
for (const c of CRA_CODES) {
  const k = c.label.toLowerCase();
  BY_LABEL.set(k, [...(BY_LABEL.get(k) ?? []), c]);
}
// The English labels of `En_gb` broadcasts (not in the guide: this project's, cra-codes.ts), where no French label has the same words.
const FRENCH_LABELS = new Set(BY_LABEL.keys());
for (const c of CRA_CODES) {
  const en = ENGLISH_LABELS[c.code]?.toLowerCase();
  if (en && !FRENCH_LABELS.has(en)) BY_LABEL.set(en, [...(BY_LABEL.get(en) ?? []), c]);
}

/**
 * The annex codes a label can stand for: an exact label, or a label with a
 * medium prefix (`SMS reçu` → the SMS code labelled `Reçu`).
 */
export function codesForLabel(label: string): CraCode[] {
  return matchLabel(label).codes;
}

/**
 * Labels with a detail (annex 5.4, lines 11121-11122: `{1} manquant(s)`,
 * `Coordonnées invalides {1}`) as patterns: `INFO1 manquant(s)` is
 * CRA_MISSINGPARAM{DETAIL} with the detail `INFO1`.
 */
const DETAIL_LABELS: readonly { re: RegExp; code: CraCode }[] = CRA_CODES.filter((c) => c.label.includes('{1}')).map((c) => ({
  re: new RegExp(
    `^${c.label
      .split('{1}')
      .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('(.+?)')}$`,
    'i',
  ),
  code: c,
}));

/** The codes a label stands for, and the detail when the label is a pattern with `{1}`. */
export function matchLabel(label: string): { codes: CraCode[]; detail?: string } {
  const exact = BY_LABEL.get(label.trim().toLowerCase());
  if (exact) return { codes: exact };
  for (const d of DETAIL_LABELS) {
    const m = d.re.exec(label.trim());
    if (m?.[1]?.trim()) return { codes: [d.code], detail: m[1].trim() };
  }
  return { codes: codesByPrefix(label) };
}

function codesByPrefix(label: string): CraCode[] {
  for (const [re, medium] of MEDIUM_PREFIX) {
    if (!re.test(label)) continue;
    const rest = label.replace(re, '').trim().toLowerCase();
    const hits = (BY_LABEL.get(rest) ?? []).filter((c) => c.medium === medium);
    if (hits.length) return hits;
  }
  return [];
}

/**
 * The codes a record's label can stand for, narrowed by its address: an email
 * address keeps email codes; a French mobile number (+336, +337) keeps SMS,
 * MMS and voice; another number keeps voice and fax. Codes of every medium
 * ('all') are always kept. When nothing is left the label's codes are kept.
 */
export function codesForRecord(label: string, address: string): CraCode[] {
  const all = codesForLabel(label);
  const a = address.trim();
  const media: readonly CraMedium[] = a.includes('@') ? ['email'] : /^\+33[67]/.test(a) ? ['sms', 'mms', 'voice'] : /^\+?\d/.test(a) ? ['voice', 'fax'] : [];
  if (media.length === 0) return all;
  const narrowed = all.filter((c) => c.medium === 'all' || media.includes(c.medium));
  return narrowed.length ? narrowed : all;
}

/** Results that mean the message reached the contact (delivered, played, opened). Annex 5.4 has no MMS "received": MMS_SENT is its delivered status. */
export const SUCCESS_CODES: ReadonlySet<string> = new Set([
  'CRA_SMS_RECEIVED',
  'CRA_MMS_SENT',
  'CRA_VOCAL_ENDED',
  'CRA_FAX_SENT',
  'CRA_EMAIL_SENT',
  'CRA_EMAIL_READ',
  'CRA_EMAIL_CLICK',
  'CRA_NOTIF_RECEIVED',
  'CRA_NOTIF_CLICK',
]);

/** Reads a CRA file; problems (bad header, field count, dates) go to `findings`. */
export async function* readCra(source: ByteSource, findings: FindingList, encoding = 'iso-8859-15'): AsyncGenerator<CraRecord> {
  const { chunks, sample } = await sniff(source);
  const enc = sample[0] === 0xef && sample[1] === 0xbb && sample[2] === 0xbf ? 'utf8' : encoding;
  let header: string[] | undefined;
  for await (const l of boundedLines(decode(chunks, enc), findings)) {
    if (l.text.trim() === '') continue;
    const f = l.text.split(';');
    if (!header) {
      header = f.map((x) => x.trim());
      if (header.join(';') !== CRA_HEADER.join(';')) {
        findings.add(finding('E_EXPORT', `the report header is '${l.text.slice(0, 120)}', not ${CRA_HEADER.join(';')}: is this a CRA file?`, { line: l.line }));
        if (!header.includes('callResult')) return;
      }
      continue;
    }
    if (f.length !== header.length) {
      findings.add(finding('E_FIELD_COUNT', `${f.length} field(s) where the header has ${header.length}`, { line: l.line }));
      continue;
    }
    const rec = Object.fromEntries(header.map((h, i) => [h, f[i] ?? ''])) as Record<string, string>;
    // A header that deviates (a damaged file) may lack a column: every record still has every field.
    for (const k of CRA_HEADER) rec[k] ??= '';
    if (rec['callDate'] && !CALL_DATE.test(rec['callDate']))
      findings.add(finding('E_DATE', `callDate '${rec['callDate']}' is not YYYY/MM/DD HH:mm:ss`, { line: l.line, field: 'callDate' }));
    yield { line: l.line, ...(rec as Omit<CraRecord, 'line'>) };
  }
}

export interface ResultCount {
  readonly label: string;
  /** The annex codes the label stands for: one, several (ambiguous), or none (unknown label). */
  readonly codes: readonly string[];
  readonly count: number;
}

export interface BroadcastSummary {
  readonly broadcastId: string;
  readonly contacts: number;
  readonly results: readonly ResultCount[];
  /** Contacts whose result is a success code, over all contacts. */
  readonly successRate: number;
  readonly firstCall?: string;
  readonly lastCall?: string;
}

export interface CraSummary {
  readonly records: number;
  readonly broadcasts: readonly BroadcastSummary[];
  readonly unknownLabels: readonly string[];
}

/** Summarizes records per broadcast (streaming: memory grows with distinct broadcasts and labels only). */
export async function summarizeCra(records: AsyncIterable<CraRecord>): Promise<CraSummary> {
  const per = new Map<
    string,
    { contacts: number; labels: Map<string, { count: number; codes: Set<string> }>; success: number; first?: string; last?: string }
  >();
  let n = 0;
  for await (const r of records) {
    n++;
    let b = per.get(r.broadcastId);
    if (!b) {
      b = { contacts: 0, labels: new Map(), success: 0 };
      per.set(r.broadcastId, b);
    }
    b.contacts++;
    const codes = codesForRecord(r.callResult, r.callAdress);
    const l = b.labels.get(r.callResult) ?? { count: 0, codes: new Set<string>() };
    l.count++;
    for (const c of codes) l.codes.add(c.code);
    b.labels.set(r.callResult, l);
    if (codes.length > 0 && codes.every((c) => SUCCESS_CODES.has(c.code))) b.success++;
    if (r.callDate) {
      if (!b.first || r.callDate < b.first) b.first = r.callDate;
      if (!b.last || r.callDate > b.last) b.last = r.callDate;
    }
  }
  const unknown = new Set<string>();
  const broadcasts = [...per]
    .sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))
    .map(([broadcastId, b]) => ({
      broadcastId,
      contacts: b.contacts,
      results: [...b.labels]
        .sort((x, y) => y[1].count - x[1].count)
        .map(([label, l]) => {
          const codes = [...l.codes];
          if (codes.length === 0) unknown.add(label);
          return { label, codes, count: l.count };
        }),
      successRate: b.contacts ? b.success / b.contacts : 0,
      ...(b.first ? { firstCall: b.first } : {}),
      ...(b.last ? { lastCall: b.last } : {}),
    }));
  return { records: n, broadcasts, unknownLabels: [...unknown] };
}
