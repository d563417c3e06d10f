/**
 * Issue #19.1: an SMS over 160 characters without smsLong (guide line 2344)
 * is refused as each contact would receive it, fields filled in; with
 * smsLong, the parts of the longest message are said. A lone `|` is text.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildTriggerFiles } from '../../src/files/build.js';
import { validateTriggerFile } from '../../src/files/read-trigger.js';
import { smsChars, smsParts } from '../../src/formats/rules/sms-length.js';
import type { TriggerCommand } from '../../src/formats/model.js';
import { SMS } from '../helpers/trigger.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dmc-smslen-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const withText = (text: string, extra: Record<string, string> = {}): TriggerCommand => ({
  ...SMS,
  messages: [{ customizableId: '10', multimediaType: 'TXT', text, ...extra }],
});
const exportWith = (names: string[]): string => {
  const p = join(dir, 'export.csv');
  writeFileSync(p, ['Nom;Mobile', ...names.map((n, i) => `${n};06${String(i).padStart(8, '0')}`)].join('\n') + '\n');
  return p;
};

describe('SMS length (guide line 2344)', () => {
  it('counts characters as decided: one each, GSM extension characters two, accented letters one', () => {
    expect(smsChars('abc')).toBe(3);
    expect(smsChars('10 €')).toBe(5);
    expect(smsChars('[x]')).toBe(5);
    expect(smsChars('crème brûlée ça')).toBe(15);
    expect(smsParts(160, false)).toBe(1);
    expect(smsParts(161, false)).toBe(2);
    expect(smsParts(208, false)).toBe(2);
    expect(smsParts(307, false)).toBe(3);
    expect(smsParts(71, true)).toBe(2);
  });

  it('counts a character outside the BMP once, and agrees with counting code points over mixed text', () => {
    expect(smsChars('ok 😀')).toBe(4);
    expect(smsChars('\ud83d')).toBe(1); // a lone surrogate is one character, as the string iterator counts it
    expect(smsChars('\ude00x')).toBe(2);
    const pieces = ['a', 'é', '€', '[', ']', '{', '}', '\\', '~', '^', '|', '😀', 'œ', ' ', '\ud83d', '\ude00'];
    let seed = 7;
    for (let k = 0; k < 500; k++) {
      let text = '';
      for (let i = 0; i < k % 40; i++) text += pieces[(seed = (seed * 1103515245 + 12345) >>> 0) % pieces.length];
      const expected = [...text].length + (text.match(/[€[\]{}\\~^|]/g)?.length ?? 0);
      expect(smsChars(text), JSON.stringify(text)).toBe(expected);
    }
  });

  it('refuses a 208-character text without smsLong, once, in build and validate', async () => {
    const text = 'x'.repeat(208);
    const r = await buildTriggerFiles(withText(text), exportWith(['A', 'B', 'C']), { out: join(dir, 'out.csv') });
    expect(r.ok).toBe(false);
    const errors = r.findings.filter((f) => f.code === 'E_SMS_TOO_LONG');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(/208 characters.*smsLong: 1/);
    // The same text in a trigger file: validate says it too.
    writeFileSync(
      join(dir, 't.csv'),
      `#COMMAND\nserviceId:1\nspaceId:1\nbroadcastName:b\nscenarioId:1\ncallPlanningId:1\ncustomizableId:10\nmultimediaType:TXT\ntext:${text}\n#CONTACTS\nPHONENUMBER1\n0612345678\n#END\n`,
    );
    const v = await validateTriggerFile(join(dir, 't.csv'));
    expect(v.errors.map((e) => e.code)).toContain('E_SMS_TOO_LONG');
  });

  it('checks the text as each contact receives it: names the contacts a long name pushes over 160', async () => {
    const text = `${'y'.repeat(140)} |contact.nom|`;
    const r = await buildTriggerFiles(withText(text), exportWith(['Court', 'U'.repeat(30), 'Moyen']), { out: join(dir, 'out.csv') });
    expect(r.ok).toBe(false);
    const errors = r.findings.filter((f) => f.code === 'E_SMS_TOO_LONG');
    expect(errors.map((e) => e.line)).toEqual([3]);
    expect(errors[0]!.message).toMatch(/171 characters for this contact \(its fields filled in\)/);
  });

  it('with smsLong, accepts the text and says how many parts the longest message takes', async () => {
    const r = await buildTriggerFiles(withText('z'.repeat(208), { smsLong: '1' }), exportWith(['A']), { out: join(dir, 'out.csv') });
    expect(r.ok).toBe(true);
    expect(r.findings.find((f) => f.code === 'W_SMS_PARTS')?.message).toMatch(/208 characters: 2 parts/);
  });

  it('a lone | in a text is text, not a field (formats.md)', async () => {
    const r = await buildTriggerFiles(withText('Choix A | B. Bonjour |contact.nom|'), exportWith(['A']), { out: join(dir, 'out.csv') });
    expect(r.findings.filter((f) => f.severity === 'error')).toEqual([]);
    expect(r.ok).toBe(true);
  });
});
