/**
 * The length of an SMS as each contact receives it (guide line 2344:
 * without `smsLong`, an SMS text over 160 characters makes the platform
 * reject every contact).
 *
 * The text is measured with its dynamic fields filled in from the contact's
 * own values. How characters count, where the guide says only "160
 * characters" (docs/formats.md, "SMS length"):
 * - each character counts one, as the guide counts;
 * - the GSM 7-bit extension characters `€ [ ] { } \ ~ ^ |` count two: they
 *   take two of the 160 septets on the network (3GPP TS 23.038);
 * - characters outside the GSM alphabet (ê, ç...) count one: the platform
 *   sends ISO-8859-1 by default (guide line 2330) and adapts them;
 * - `|datejour|` and `|date|` count 10 (DD/MM/YYYY), `|shortcode|` 5;
 * - parts of a long SMS: 153 characters each (160 alone); with
 *   `smsUnicode: 1`, 67 each (70 alone), the network's UCS-2.
 */
import type { TriggerCommand } from '../model.js';
import { finding, type FindingList } from '../findings.js';

/** The longest single SMS, in the guide's characters. */
export const SMS_MAX = 160;

/** Dynamic fields as the rules read them: `|name|`, a name of letters, digits, `.` and `_` (a lone `|` is text). */
export const FIELD = /\|\s*([A-Za-z][\w.]*)\s*\|/g;

/** 1 for the GSM 7-bit extension characters below 128: `[ ] { } \\ ~ ^ |` (and `€`, tested apart). */
const GSM_EXTENSION = new Uint8Array(128);
for (const c of '[]{}\\~^|') GSM_EXTENSION[c.charCodeAt(0)] = 1;
const FIXED: Readonly<Record<string, number>> = { datejour: 10, date: 10, shortcode: 5 };
const COLUMN_OF: Readonly<Record<string, string>> = {
  'contact.nom': 'NAME',
  'contact.prenom': 'FORENAME',
  'contact.info1': 'INFO1',
  'contact.info2': 'INFO2',
  'contact.info3': 'INFO3',
  'contact.info4': 'INFO4',
};

/** A text's length in the guide's characters (no field filled). */
export function smsChars(text: string): number {
  // One pass over the code units, nothing allocated: it runs for every field of every contact.
  let n = text.length;
  let high = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 128) n += GSM_EXTENSION[c]!;
    else if (c === 0x20ac) n++;
    else if (c >= 0xdc00 && c <= 0xdfff && high) n--; // a surrogate pair is one character
    high = c >= 0xd800 && c <= 0xdbff;
  }
  return n;
}

/** How many SMS a text of `chars` characters takes. */
export function smsParts(chars: number, unicode: boolean): number {
  const [one, part] = unicode ? [70, 67] : [SMS_MAX, 153];
  return chars <= one ? 1 : Math.ceil(chars / part);
}

const on = (v: unknown): boolean => v === true || v === '1';

interface SmsBlock {
  readonly index: number;
  readonly long: boolean;
  readonly unicode: boolean;
  /** The text without its fields. */
  readonly fixed: number;
  /** Column indexes whose values fill the fields (-1: the column is absent, empty). */
  readonly columns: readonly number[];
  /** Too long for every contact: said once already. */
  readonly whole: boolean;
}

/**
 * Checks each contact's SMS length as it streams by; `finish` says what the
 * longest took. Built from the command once; per contact it adds up a few
 * value lengths.
 */
export class SmsLengthRule {
  private readonly blocks: SmsBlock[];
  private longest = 0;
  private longestParts = 0;

  private constructor(
    blocks: SmsBlock[],
    private readonly findings: FindingList,
  ) {
    this.blocks = blocks;
  }

  /** The rule for a command's SMS blocks, or undefined when it has none with a text. */
  static of(command: TriggerCommand, columns: readonly string[], findings: FindingList): SmsLengthRule | undefined {
    const blocks: SmsBlock[] = [];
    for (const [index, b] of (command.messages ?? []).entries()) {
      if (b.multimediaType !== 'TXT' || typeof b.text !== 'string') continue;
      let fixed = 0;
      const cols: number[] = [];
      let rest = b.text;
      for (const m of b.text.matchAll(FIELD)) {
        const key = (m[1] ?? '').toLowerCase();
        if (key in FIXED) fixed += FIXED[key]!;
        else if (COLUMN_OF[key]) cols.push(columns.indexOf(COLUMN_OF[key]));
        else fixed += smsChars(m[0]); // an unknown field is an error elsewhere; counted as written
        rest = rest.replace(m[0], '');
      }
      const block = { index, long: on(b.smsLong), unicode: on(b.smsUnicode), fixed: fixed + smsChars(rest), columns: cols, whole: false };
      // Too long for every contact whatever their values: said once, not once a contact.
      if (!block.long && block.fixed > SMS_MAX) {
        block.whole = true;
        findings.add(
          finding(
            'E_SMS_TOO_LONG',
            `the SMS of block ${index + 1} is ${block.fixed} characters${cols.length ? ' before its fields are filled in' : ''}: over ${SMS_MAX} without smsLong the platform rejects every contact (guide line 2344); shorten the text or set smsLong: 1`,
            { field: 'text' },
          ),
        );
      }
      blocks.push(block);
    }
    return blocks.length ? new SmsLengthRule(blocks, findings) : undefined;
  }

  /** Checks one contact's messages: each one over the limit is an error on the contact's line. */
  check(values: readonly string[], line: number | undefined): void {
    for (const b of this.blocks) {
      let n = b.fixed;
      for (const c of b.columns) if (c >= 0) n += smsChars(values[c] ?? '');
      if (n > this.longest) {
        this.longest = n;
        this.longestParts = smsParts(n, b.unicode);
      }
      if (b.long || n <= SMS_MAX || b.whole) continue;
      this.findings.add(
        finding(
          'E_SMS_TOO_LONG',
          `the SMS of block ${b.index + 1} is ${n} characters for this contact${b.columns.length ? ' (its fields filled in)' : ''}: over ${SMS_MAX} without smsLong the platform rejects every contact (guide line 2344); shorten the text or set smsLong: 1`,
          { line, field: 'text' },
        ),
      );
    }
  }

  /** With smsLong: how many parts the longest message takes (a warning, so that it is seen). */
  finish(): void {
    if (this.longest > SMS_MAX && this.blocks.some((b) => b.long))
      this.findings.add(
        finding(
          'W_SMS_PARTS',
          `the longest SMS is ${this.longest} characters: ${this.longestParts} parts with smsLong (${this.blocks.some((b) => b.unicode) ? '67 characters a part with smsUnicode' : '153 characters a part'}), each billed as one SMS`,
          { field: 'text' },
        ),
      );
  }
}
