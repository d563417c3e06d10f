// Extracts annex 5.4 (call-result codes) of the guide into src/formats/cra-codes.ts.
// Usage: node scripts/extract-cra-codes.mjs [path/to/guide.txt] (default: ../shared/spec/...).
// The output is committed; test/unit/cra.test.ts checks it against the guide when present.
import { readFileSync, writeFileSync } from 'node:fs';

export function extract(text) {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith('## 5.4 LISTE DES COMPTE-RENDUS'));
  const end = lines.findIndex((l, i) => i > start && l.startsWith('## 5.5'));
  const media = { SMS: 'sms', MMS: 'mms', VOCAL: 'voice', FAX: 'fax', 'E-MAIL': 'email', 'PUSH NOTIFICATION': 'push', 'TOUS MEDIAS': 'all' };
  let medium;
  const rows = [];
  for (let i = start; i < end; i++) {
    const l = lines[i];
    const h = /^#{3,4} 5\.4\.\d+ (?:SOUMIS )?RESULTATS (.+)$/.exec(l);
    if (h) {
      medium = media[h[1].trim()];
      continue;
    }
    // The OCR split some cells over two lines: a line starting with a tab continues the row above
    // (e.g. "Service temporairement" / "indisponible", guide lines 10961-10963 and 11010-11012).
    if (l.startsWith('\t') && rows.length > 0) {
      const [, label = '', description = ''] = l.split('\t');
      const prev = rows[rows.length - 1];
      if (label.trim()) prev.label = `${prev.label} ${label.trim()}`;
      if (description.trim()) prev.description = `${prev.description} ${description.trim()}`;
      continue;
    }
    if (!l.startsWith('CRA_')) continue;
    const [code, label, description] = l.split('\t');
    rows.push({ code, label: label.trim(), description: description.trim(), medium, line: i + 1 });
  }
  return rows;
}

export function render(rows) {
  return `/**
 * Annex 5.4 of the DMC guide: every call-result code with its French label
 * (what a CRA file's callResult holds) and meaning. Generated from the guide
 * by scripts/extract-cra-codes.mjs; do not edit by hand.
 */

export type CraMedium = 'sms' | 'mms' | 'voice' | 'fax' | 'email' | 'push' | 'all';

export interface CraCode {
  readonly code: string;
  readonly label: string;
  readonly description: string;
  readonly medium: CraMedium;
  /** Line of the guide. */
  readonly line: number;
}

export const CRA_CODES: readonly CraCode[] = [
${rows.map((r) => `  { code: ${JSON.stringify(r.code)}, label: ${JSON.stringify(r.label)}, description: ${JSON.stringify(r.description)}, medium: '${r.medium}', line: ${r.line} },`).join('\n')}
];
`;
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const guide = process.argv[2] ?? new URL('../../shared/spec/dmc-developer-guide-v1.7.txt', import.meta.url).pathname;
  const rows = extract(readFileSync(guide, 'utf8'));
  writeFileSync(new URL('../src/formats/cra-codes.ts', import.meta.url), render(rows));
  console.log(`${rows.length} codes written to src/formats/cra-codes.ts`);
}
