/**
 * ISO-8859-15 (the platform's encoding, guide §3.2.1) and the rules for
 * values: what a value may hold, what is transliterated, what is an error.
 * Nothing is ever written as a silent `?` (iconv-lite's default for a
 * character the target cannot hold): every value is checked before encoding.
 */
import iconv from 'iconv-lite';
import type { OutputEncoding } from './model.js';

/**
 * Characters ISO-8859-15 cannot hold: everything outside Latin-1, plus the
 * eight Latin-1 code points it replaced (¤ ¦ ¨ ´ ¸ ¼ ½ ¾), minus the eight
 * characters it added (€ Š š Ž ž Œ œ Ÿ).
 */
const NOT_LATIN9 = /[^\u0000-\u00A3\u00A5\u00A7\u00A9-\u00B3\u00B5-\u00B7\u00B9-\u00BB\u00BF-\u00FF\u20AC\u0160\u0161\u017D\u017E\u0152\u0153\u0178]/u;

/**
 * Typographic characters replaced by their ASCII look-alike. Non-breaking
 * spaces are included although U+00A0 exists in ISO-8859-15: SMS gateways
 * and many SI imports mangle it (docs/formats.md, "Transliteration").
 */
export const TRANSLITERATIONS: Readonly<Record<string, string>> = {
  '\u2018': "'",
  '\u2019': "'",
  '\u201A': "'",
  '\u201B': "'",
  '\u2032': "'",
  '\u00B4': "'",
  '\u201C': '"',
  '\u201D': '"',
  '\u201E': '"',
  '\u201F': '"',
  '\u2033': '"',
  '\u2010': '-',
  '\u2011': '-',
  '\u2012': '-',
  '\u2013': '-',
  '\u2014': '-',
  '\u2015': '-',
  '\u2212': '-',
  '\u2026': '...',
  '\u00A0': ' ',
  '\u202F': ' ',
  '\u2007': ' ',
  '\u2009': ' ',
  '\u200A': ' ',
  '\u2002': ' ',
  '\u2003': ' ',
  '\u2022': '-',
};
const TRANSLITERABLE = new RegExp(`[${Object.keys(TRANSLITERATIONS).join('')}]`, 'gu');

/** Characters no value may hold in any output: C0 controls but tab, and DEL. */
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;

/** What the value is, for the rules that differ (`;` is only forbidden in contact fields). */
export type ValueKind = 'contact' | 'command';

export interface ValuePolicy {
  readonly encoding: OutputEncoding;
  /** Replace `;` (contacts), CR and LF instead of refusing them; each replacement is reported. */
  readonly replaceForbidden: boolean;
}

/** What became of a value: unchanged, changed with notes, or refused. */
export type ValueOutcome =
  { readonly ok: true; readonly value: string; readonly notes?: readonly ValueNote[] } | { readonly ok: false; readonly problem: ValueNote };

export interface ValueNote {
  readonly code: 'E_FORBIDDEN_CHAR' | 'W_REPLACED_CHAR' | 'E_UNENCODABLE' | 'W_TRANSLITERATED';
  readonly message: string;
}

// Without the `u` flag on purpose: faster, and an astral character shows as surrogates, which the
// negated class rejects too, so it still reaches the slow path.
const FAST_CONTACT_LATIN9 =
  /[;\r\n\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u00A0]|[^\u0000-\u00A3\u00A5\u00A7\u00A9-\u00B3\u00B5-\u00B7\u00B9-\u00BB\u00BF-\u00FF\u20AC\u0160\u0161\u017D\u017E\u0152\u0153\u0178]/;
const FAST_COMMAND_LATIN9 =
  /[\r\n\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u00A0]|[^\u0000-\u00A3\u00A5\u00A7\u00A9-\u00B3\u00B5-\u00B7\u00B9-\u00BB\u00BF-\u00FF\u20AC\u0160\u0161\u017D\u017E\u0152\u0153\u0178]/;
// UTF-8 output: C1 controls (NEL included), U+2028/2029, surrogates (a lone one, or any astral character:
// checked on the slow path) and U+FDD0-FDEF / U+FFFE-FFFF non-characters leave the fast path.
const FAST_CONTACT_UTF8 = /[;\r\n\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u2028\u2029\uD800-\uDFFF\uFDD0-\uFDEF\uFFFE\uFFFF]/;
const FAST_COMMAND_UTF8 = /[\r\n\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u2028\u2029\uD800-\uDFFF\uFDD0-\uFDEF\uFFFE\uFFFF]/;
/** Line separators other readers break lines on (NEL, LS, PS) and C1 controls: refused like CR and LF. */
const UNICODE_BREAKS = /[\u0080-\u009F\u2028\u2029]/;
/** Not characters: a lone surrogate, or a Unicode non-character (U+FDD0-FDEF, U+xxFFFE, U+xxFFFF). */
const NOT_A_CHARACTER =
  /[\uFDD0-\uFDEF\uFFFE\uFFFF]|[\u{1FFFE}\u{1FFFF}\u{2FFFE}\u{2FFFF}\u{3FFFE}\u{3FFFF}\u{4FFFE}\u{4FFFF}\u{5FFFE}\u{5FFFF}\u{6FFFE}\u{6FFFF}\u{7FFFE}\u{7FFFF}\u{8FFFE}\u{8FFFF}\u{9FFFE}\u{9FFFF}\u{AFFFE}\u{AFFFF}\u{BFFFE}\u{BFFFF}\u{CFFFE}\u{CFFFF}\u{DFFFE}\u{DFFFF}\u{EFFFE}\u{EFFFF}\u{FFFFE}\u{FFFFF}\u{10FFFE}\u{10FFFF}]|\p{Cs}/u;

const describe = (ch: string): string => {
  const cp = ch.codePointAt(0) ?? 0;
  const hex = `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  if (ch === '\r') return 'a carriage return (CR)';
  if (ch === '\n') return 'a line feed (LF)';
  if (ch === ';') return "';'";
  if (cp === 0x85) return 'the next-line character NEL (U+0085)';
  if (cp === 0x2028 || cp === 0x2029) return `the ${cp === 0x2028 ? 'line' : 'paragraph'} separator ${hex}`;
  return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) ? `the control character ${hex}` : `'${ch}' (${hex})`;
};

/**
 * Checks one value for the output: forbidden characters (refused, or
 * replaced on request), transliteration, encodability. The common case (a
 * clean value) costs one regex test.
 */
export function checkValue(value: string, kind: ValueKind, policy: ValuePolicy): ValueOutcome {
  const fast =
    policy.encoding === 'utf8' ? (kind === 'contact' ? FAST_CONTACT_UTF8 : FAST_COMMAND_UTF8) : kind === 'contact' ? FAST_CONTACT_LATIN9 : FAST_COMMAND_LATIN9;
  if (!fast.test(value)) return { ok: true, value };
  return slowCheck(value, kind, policy);
}

function slowCheck(input: string, kind: ValueKind, policy: ValuePolicy): ValueOutcome {
  const notes: ValueNote[] = [];
  let value = input;
  const forbidden = kind === 'contact' ? /[;\r\n]/ : /[\r\n]/;
  const m = forbidden.exec(value) ?? CONTROL.exec(value);
  if (m) {
    if (!policy.replaceForbidden) {
      const fix =
        kind === 'contact'
          ? "remove it from the source, or build with --replace-forbidden (';' becomes ',', line breaks become spaces)"
          : 'remove the line break, or build with --replace-forbidden (line breaks become spaces)';
      return {
        ok: false,
        problem: { code: 'E_FORBIDDEN_CHAR', message: `holds ${describe(m[0])} at position ${m.index + 1}, which would break the file: ${fix}` },
      };
    }
    const before = value;
    value = value.replace(/\r\n|\r|\n/g, ' ');
    if (kind === 'contact') value = value.replace(/;/g, ',');
    value = value.replace(new RegExp(CONTROL.source, 'g'), '');
    notes.push({ code: 'W_REPLACED_CHAR', message: `forbidden characters replaced: ${JSON.stringify(before)} became ${JSON.stringify(value)}` });
  }
  // NEL, U+2028/2029 and C1 controls: line breaks for some readers, invisible for all.
  const br = UNICODE_BREAKS.exec(value);
  if (br) {
    if (!policy.replaceForbidden) {
      return {
        ok: false,
        problem: {
          code: 'E_FORBIDDEN_CHAR',
          message: `holds ${describe(br[0])} at position ${br.index + 1}, a line separator or C1 control that other readers break lines on: remove it, or build with --replace-forbidden (it becomes a space)`,
        },
      };
    }
    const before = value;
    value = value.replace(/[\u0085\u2028\u2029]/g, ' ').replace(/[\u0080-\u009F]/g, '');
    notes.push({ code: 'W_REPLACED_CHAR', message: `forbidden characters replaced: ${JSON.stringify(before)} became ${JSON.stringify(value)}` });
  }
  if (policy.encoding === 'utf8') {
    const nc = NOT_A_CHARACTER.exec(value);
    if (nc) {
      const cp = nc[0].codePointAt(0) ?? 0;
      const what =
        cp >= 0xd800 && cp <= 0xdfff
          ? `a lone surrogate U+${cp.toString(16).toUpperCase()} (half of a character: the source text is damaged)`
          : `the non-character U+${cp.toString(16).toUpperCase()}`;
      return {
        ok: false,
        problem: {
          code: 'E_UNENCODABLE',
          message: `holds ${what} at position ${nc.index + 1}, which UTF-8 cannot carry faithfully: remove it from the source`,
        },
      };
    }
    return { ok: true, value, notes };
  }
  if (TRANSLITERABLE.test(value)) {
    TRANSLITERABLE.lastIndex = 0;
    const seen = new Set<string>();
    value = value.replace(TRANSLITERABLE, (ch) => {
      seen.add(ch);
      return TRANSLITERATIONS[ch] ?? ch;
    });
    notes.push({
      code: 'W_TRANSLITERATED',
      message: `${[...seen].map(describe).join(', ')} written as ${[...seen].map((c) => `'${TRANSLITERATIONS[c]}'`).join(', ')} (ISO-8859-15 has no such character)`,
    });
  }
  TRANSLITERABLE.lastIndex = 0;
  const bad = NOT_LATIN9.exec(value);
  if (bad) {
    const ch = String.fromCodePoint(bad[0].codePointAt(0) ?? 0);
    return {
      ok: false,
      problem: {
        code: 'E_UNENCODABLE',
        message: `holds ${describe(ch)}, which ISO-8859-15 cannot encode: remove it, or build with --encoding utf8 (the file then declares UTF-8)`,
      },
    };
  }
  return { ok: true, value, notes };
}

/**
 * Whether a whole contact row, joined with `;`, is clean: one regex test and a
 * count of separators instead of one test per field (the writer's hot path).
 * A row that is not clean is checked field by field with checkValue.
 */
export function isCleanRow(line: string, width: number, encoding: OutputEncoding): boolean {
  if ((encoding === 'utf8' ? FAST_COMMAND_UTF8 : FAST_COMMAND_LATIN9).test(line)) return false;
  let n = 0;
  for (let i = line.indexOf(';'); i >= 0; i = line.indexOf(';', i + 1)) n++;
  return n === width - 1;
}

/** The eight characters where ISO-8859-15 differs from Latin-1, and their bytes. */
const LATIN9_SPECIAL: readonly (readonly [string, number])[] = [
  ['\u20AC', 0xa4],
  ['\u0160', 0xa6],
  ['\u0161', 0xa8],
  ['\u017D', 0xb4],
  ['\u017E', 0xb8],
  ['\u0152', 0xbc],
  ['\u0153', 0xbd],
  ['\u0178', 0xbe],
];

/**
 * Encodes text already checked to fit ISO-8859-15 (see checkValue). Latin-1
 * puts character i at byte i, so Node's native encoder does the work and the
 * eight characters where Latin-9 differs are patched in place. Same bytes as
 * iconv-lite, several times faster; a character outside Latin-9 must not
 * reach it.
 */
export function encodeLatin9(text: string): Buffer {
  const out = Buffer.from(text, 'latin1');
  for (const [ch, byte] of LATIN9_SPECIAL) {
    for (let i = text.indexOf(ch); i >= 0; i = text.indexOf(ch, i + 1)) out[i] = byte;
  }
  return out;
}

const LATIN9_BYTE = new Map(LATIN9_SPECIAL);
const LATIN9_SPECIAL_RE = /[\u0152\u0153\u0160\u0161\u0178\u017D\u017E\u20AC]/g;

/**
 * Encodes checked text (see checkValue) straight into byte buffers, row by
 * row, in the output encoding: no string is concatenated (a long string
 * built by `+=` costs more to turn into bytes than everything else a row
 * needs). `take()` hands over what was written and starts a new buffer.
 */
export class ByteBatch {
  private buf: Buffer;
  private off = 0;
  constructor(
    private readonly encoding: 'iso-8859-15' | 'utf8',
    private readonly capacity = 128 * 1024,
  ) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  get length(): number {
    return this.off;
  }

  add(text: string): void {
    // Latin-9: one byte per UTF-16 unit; UTF-8: at most three.
    const need = this.encoding === 'utf8' ? text.length * 3 : text.length;
    if (this.off + need > this.buf.length) this.grow(need);
    if (this.encoding === 'utf8') {
      this.off += this.buf.write(text, this.off, 'utf8');
      return;
    }
    const at = this.off;
    this.off += this.buf.write(text, this.off, 'latin1');
    // Latin-1 puts character i at byte i; the eight characters where ISO-8859-15 differs are put right.
    LATIN9_SPECIAL_RE.lastIndex = 0;
    for (let m = LATIN9_SPECIAL_RE.exec(text); m; m = LATIN9_SPECIAL_RE.exec(text)) this.buf[at + m.index] = LATIN9_BYTE.get(m[0])!;
  }

  take(): Buffer {
    const out = this.buf.subarray(0, this.off);
    this.buf = Buffer.allocUnsafe(this.capacity);
    this.off = 0;
    return out;
  }

  private grow(need: number): void {
    const next = Buffer.allocUnsafe(Math.max(this.capacity, this.off + need));
    this.buf.copy(next, 0, 0, this.off);
    this.buf = next;
  }
}

/** Whether a string can be written in ISO-8859-15 as it is. */
export function isLatin9(value: string): boolean {
  return !NOT_LATIN9.test(value);
}

/** The `encoding:` value a CSV trigger declares (TRIGGER-PROTOCOLS.md §1.1 decisions). */
export function declaredName(enc: OutputEncoding): string {
  return enc === 'utf8' ? 'UTF8' : 'ISO8859-15';
}

/** The XML declaration's encoding name. */
export function xmlDeclaredName(enc: OutputEncoding): string {
  return enc === 'utf8' ? 'UTF-8' : 'ISO-8859-15';
}

/**
 * Maps a declared encoding name (`UTF8`, `ISO8859-1`, `iso-8859-15`, `cp1252`,
 * `latin9`...) to an iconv-lite name, or undefined when unknown.
 */
export function normalizeEncodingName(declared: string): string | undefined {
  const k = declared.trim().toLowerCase().replace(/[\s_]/g, '-');
  const compact = k.replace(/-/g, '');
  const table: Record<string, string> = {
    utf8: 'utf8',
    utf8bom: 'utf8',
    iso885915: 'iso-8859-15',
    latin9: 'iso-8859-15',
    l9: 'iso-8859-15',
    iso88591: 'iso-8859-1',
    latin1: 'iso-8859-1',
    l1: 'iso-8859-1',
    windows1252: 'windows-1252',
    cp1252: 'windows-1252',
    win1252: 'windows-1252',
  };
  const hit = table[compact];
  if (hit) return hit;
  return iconv.encodingExists(k) ? k : undefined;
}

/** Whether bytes are valid UTF-8 (a sample may end inside a character: the tail is ignored). */
export function looksUtf8(sample: Uint8Array, complete: boolean): { valid: boolean; nonAscii: boolean } {
  let i = 0;
  let nonAscii = false;
  const n = sample.length;
  while (i < n) {
    const b = sample[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    nonAscii = true;
    let need: number;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) need = 2;
    else if (b >= 0xf0 && b <= 0xf4) need = 3;
    else return { valid: false, nonAscii };
    for (let k = 1; k <= need; k++) {
      const c = sample[i + k];
      if (c === undefined) return { valid: !complete, nonAscii };
      if ((c & 0xc0) !== 0x80) return { valid: false, nonAscii };
    }
    i += need + 1;
  }
  return { valid: true, nonAscii };
}

/** Bytes that decode differently in ISO-8859-15 and Latin-1 / Windows-1252 (€ Š š Ž ž Œ œ Ÿ in Latin-9). */
const LATIN9_ONLY = new Set([0xa4, 0xa6, 0xa8, 0xb4, 0xb8, 0xbc, 0xbd, 0xbe]);

/**
 * Guesses the encoding of an SI export from its first bytes: a BOM, then
 * valid UTF-8, then Windows-1252 when C1 bytes (0x80-0x9F) are present,
 * ISO-8859-15 when a byte that only Latin-9 reads as a letter (€ œ Œ...) is,
 * else Windows-1252 (a superset of Latin-1's printable characters).
 */
export function detectEncoding(sample: Uint8Array, complete: boolean): { encoding: string; reason: string } {
  if (sample[0] === 0xef && sample[1] === 0xbb && sample[2] === 0xbf) return { encoding: 'utf8', reason: 'UTF-8 byte order mark' };
  if (sample[0] === 0xff && sample[1] === 0xfe) return { encoding: 'utf-16le', reason: 'UTF-16LE byte order mark' };
  if (sample[0] === 0xfe && sample[1] === 0xff) return { encoding: 'utf-16be', reason: 'UTF-16BE byte order mark' };
  // UTF-16 without its byte order mark (a spreadsheet's "Unicode text"): text in it has a 0 in every other byte.
  const head = sample.subarray(0, 4096 - (Math.min(sample.length, 4096) % 2));
  if (head.length >= 4) {
    let odd = 0;
    let even = 0;
    for (let i = 0; i < head.length; i += 2) {
      if (head[i] === 0) even++;
      if (head[i + 1] === 0) odd++;
    }
    const pairs = head.length / 2;
    if (odd > pairs * 0.4 && even < pairs * 0.05) return { encoding: 'utf-16le', reason: 'no byte order mark, but a 0 in every other byte (UTF-16LE)' };
    if (even > pairs * 0.4 && odd < pairs * 0.05) return { encoding: 'utf-16be', reason: 'no byte order mark, but a 0 in every other byte (UTF-16BE)' };
  }
  const u = looksUtf8(sample, complete);
  if (u.valid) return { encoding: 'utf8', reason: u.nonAscii ? 'valid UTF-8' : 'ASCII only' };
  let c1 = false;
  let latin9 = false;
  for (const b of sample) {
    if (b >= 0x80 && b <= 0x9f) c1 = true;
    else if (LATIN9_ONLY.has(b)) latin9 = true;
  }
  if (c1) return { encoding: 'windows-1252', reason: 'bytes 0x80-0x9F (Windows-1252 punctuation or €)' };
  if (latin9) return { encoding: 'iso-8859-15', reason: 'bytes that are € Š š Ž ž Œ œ Ÿ in ISO-8859-15' };
  return { encoding: 'windows-1252', reason: 'not UTF-8; Latin-1 letters' };
}
