/**
 * Characters never printed raw: C0 and C1 controls, U+2028/2029 (line
 * breaks to some readers) and the bidirectional controls. The CLI's line
 * filter uses the same set, less tab and line feed.
 */
export const UNPRINTABLE = '\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u2028-\\u202e\\u2066-\\u2069';
const UNPRINTABLE_RE = new RegExp(`[${UNPRINTABLE}]`, 'g');

/**
 * A name or text from outside (a file name, a column) made safe to print on
 * one line: control characters (line breaks, terminal escapes) and the
 * bidirectional controls that reorder what a reader sees (U+202E makes
 * `x\u202Efdp.csv` read as `xvsc.pdf`) are shown as escapes, and it is cut
 * at `max` characters.
 */
export function printable(text: string, max = 200): string {
  const safe = text.replace(UNPRINTABLE_RE, (c) =>
    c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return safe.length > max ? `${safe.slice(0, max)}…` : safe;
}
