/**
 * What a simulated broadcast does to each contact: the medium (from the
 * trigger's message blocks and the addresses the contact has), a result
 * drawn deterministically from a realistic mix of annex 5.4 codes for that
 * medium (seeded: the same seed, broadcast and contact always give the same
 * result), and the CRA line the platform would write.
 */
import { parisTime } from '../formats/paris-time.js';
import { createHash } from 'node:crypto';
import { CRA_CODES, ENGLISH_LABELS } from '../formats/cra-codes.js';
import type { ContactColumn } from '../formats/contacts.js';
import type { TriggerCommand } from '../formats/model.js';

export type Medium = 'sms' | 'mms' | 'voice' | 'fax' | 'email';

/** Results and their weights per medium: mostly delivered, some wrong numbers, busy lines, bounces. */
export const RESULT_MIX: Readonly<Record<Medium, readonly (readonly [string, number])[]>> = {
  sms: [
    ['CRA_SMS_RECEIVED', 86],
    ['CRA_SMS_BADNUMBER', 4],
    ['CRA_SMS_FALSENUMBER', 3],
    ['CRA_SMS_OPWRONGNUMBER', 3],
    ['CRA_SMS_BLACKLIST', 2],
    ['CRA_SMS_OPERROR', 2],
  ],
  mms: [
    ['CRA_MMS_SENT', 84],
    ['CRA_MMS_BADNUMBER', 6],
    ['CRA_MMS_FALSENUMBER', 5],
    ['CRA_MMS_OPERROR', 5],
  ],
  voice: [
    ['CRA_VOCAL_ENDED', 68],
    ['CRA_VOCAL_NOANSWER', 15],
    ['CRA_VOCAL_BUSY', 9],
    ['CRA_VOCAL_BADNUMBER', 5],
    ['CRA_VOCAL_REJECTED', 3],
  ],
  fax: [
    ['CRA_FAX_SENT', 80],
    ['CRA_FAX_BUSY', 8],
    ['CRA_FAX_NOTFAX', 5],
    ['CRA_FAX_NOANSWER', 5],
    ['CRA_FAX_BADNUMBER', 2],
  ],
  email: [
    ['CRA_EMAIL_SENT', 55],
    ['CRA_EMAIL_READ', 28],
    ['CRA_EMAIL_CLICK', 5],
    ['CRA_EMAIL_HARDBOUNCE', 7],
    ['CRA_EMAIL_SOFTBOUNCE', 5],
  ],
};

const FRENCH = new Map(CRA_CODES.map((c) => [c.code, c.label]));

export function labelOf(code: string, userLang: string | undefined): string {
  if (userLang?.toLowerCase() === 'en_gb') return ENGLISH_LABELS[code] ?? FRENCH.get(code) ?? code;
  return FRENCH.get(code) ?? code;
}

const MEDIUM_OF_TYPE: Readonly<Record<string, Medium>> = {
  TXT: 'sms',
  JPG: 'mms',
  GIF: 'mms',
  '3GP': 'mms',
  TTS: 'voice',
  WAV: 'voice',
  PDF: 'fax',
  HTML: 'email',
};

/**
 * The media of a trigger, in block order (a library document is an email; a
 * favourite an SMS). On the platform the scenario decides; the simulator
 * reads the blocks: a `messageSubject` is for MMS and email only (guide line
 * 9097), so a TXT block with a subject is a text MMS (the email example
 * "DIFFUSION MMS TEXTE", lines 10181-10201) and a WAV block with a subject
 * an MMS (line 10057: WAV is "Vocal ou MMS"); without one, TXT is an SMS and
 * WAV a voice message. `scenarioMedia` (scenarioId → medium) overrides it
 * for every block of that scenario's broadcasts.
 */
export function mediaOf(command: TriggerCommand, scenarioMedia?: Readonly<Record<string, Medium>>): Medium[] {
  const forced = command.scenarioId !== undefined ? scenarioMedia?.[String(command.scenarioId)] : undefined;
  if (command.oneTouchId !== undefined || !command.messages?.length) return [forced ?? 'sms'];
  return command.messages.map((b) => {
    if (forced) return forced;
    if (!b.multimediaType) return 'email';
    const type = b.multimediaType.toUpperCase();
    if ((type === 'TXT' || type === 'WAV') && b.messageSubject !== undefined && b.messageSubject !== '') return 'mms';
    return MEDIUM_OF_TYPE[type] ?? 'sms';
  });
}

/** A 32-bit number from the seed, the broadcast and the contact: deterministic, well spread. */
function draw(seed: string, broadcastId: number, index: number, salt = ''): number {
  return createHash('sha256').update(`${seed}:${broadcastId}:${index}:${salt}`).digest().readUInt32BE(0);
}

export function pickResult(medium: Medium, seed: string, broadcastId: number, index: number): string {
  const mix = RESULT_MIX[medium];
  const total = mix.reduce((s, [, w]) => s + w, 0);
  let r = draw(seed, broadcastId, index) % total;
  for (const [code, w] of mix) {
    if (r < w) return code;
    r -= w;
  }
  return mix[0]![0];
}

/** `06 12.34.56 78` with country code 33 → `+33612345678`; `+4930...` kept; an email as is. */
export function callAddress(value: string, countryCode: string | undefined): string {
  const v = value.replace(/[/\\.() ]/g, '');
  if (v.includes('@') || v.startsWith('+')) return v;
  return v.startsWith('0') ? `+${countryCode || '33'}${v.slice(1)}` : v;
}

export interface ContactResult {
  readonly contactId: number;
  readonly externalReference: string;
  readonly name: string;
  readonly forename: string;
  readonly code: string;
  readonly label: string;
  readonly address: string;
  readonly callDate: string;
  /** When the call happens (ms since the epoch): the broadcast ends with its last call. */
  readonly callAt: number;
  readonly attempts: number;
}

/** `YYYY/MM/DD HH:mm:ss`, Europe/Paris, as in CRA files. */
export function craDate(d: Date): string {
  const t = parisTime(d);
  return `${t.date.replace(/-/g, '/')} ${t.seconds}`;
}

/** The result of one contact of a broadcast. */
export function contactResult(
  columns: readonly ContactColumn[],
  values: readonly string[],
  media: readonly Medium[],
  ctx: { seed: string; broadcastId: number; index: number; contactId: number; start: Date; spread?: number; userLang?: string | undefined },
): ContactResult {
  const get = (c: ContactColumn): string => {
    const i = columns.indexOf(c);
    return i >= 0 ? (values[i] ?? '').trim() : '';
  };
  const phone = ['PHONENUMBER1', 'PHONENUMBER2', 'PHONENUMBER3', 'PHONENUMBER4', 'PHONENUMBER5', 'PHONENUMBER6']
    .map((c, k) => [get(c as ContactColumn), get(`COUNTRYCODE${k + 1}` as ContactColumn)] as const)
    .find(([p]) => p !== '');
  let medium: Medium | undefined;
  let address = '';
  for (const m of media) {
    if ((m === 'sms' || m === 'mms' || m === 'voice') && phone) {
      medium = m;
      address = callAddress(phone[0], phone[1]);
      break;
    }
    if (m === 'fax' && get('FAXNUMBER')) {
      medium = m;
      address = callAddress(get('FAXNUMBER'), get('FAXCOUNTRYCODE'));
      break;
    }
    if (m === 'email' && get('EMAIL1')) {
      medium = m;
      address = get('EMAIL1');
      break;
    }
  }
  const code = medium ? pickResult(medium, ctx.seed, ctx.broadcastId, ctx.index) : 'CRA_NOMESSAGE';
  // The calls spread over `spread` seconds after the broadcast starts (an hour by default).
  const spread = Math.max(0, Math.floor(ctx.spread ?? 3600));
  const offset = spread === 0 ? 0 : (draw(ctx.seed, ctx.broadcastId, ctx.index, 'time') % spread) * 1000;
  const callAt = ctx.start.getTime() + offset;
  return {
    contactId: ctx.contactId,
    externalReference: get('EXTERNALREFERENCE'),
    name: get('NAME'),
    forename: get('FORENAME'),
    code,
    label: labelOf(code, ctx.userLang),
    address,
    callDate: craDate(new Date(callAt)),
    callAt,
    attempts: 1 + (draw(ctx.seed, ctx.broadcastId, ctx.index, 'attempts') % 3),
  };
}
