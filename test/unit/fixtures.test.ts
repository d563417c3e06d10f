import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validateTriggerFile } from '../../src/files/read-trigger.js';

const dir = new URL('../fixtures/', import.meta.url).pathname;
const expected = JSON.parse(readFileSync(`${dir}invalid/expected.json`, 'utf8')) as Record<string, string[]>;

describe('fixture corpus: invalid files', () => {
  for (const [file, codes] of Object.entries(expected)) {
    if (file.startsWith('$')) continue;
    it(`${file} is invalid with ${[...new Set(codes)].join(', ')}`, async () => {
      const r = await validateTriggerFile(`${dir}invalid/${file}`);
      expect(r.valid).toBe(false);
      const got = r.errors.map((e) => e.code).sort();
      expect(got, JSON.stringify(r.errors, null, 1)).toEqual([...codes].sort());
      for (const e of r.errors) expect(e.message.length, 'a message says what to change').toBeGreaterThan(20);
    });
  }
  it('every invalid fixture has an expectation', () => {
    const files = readdirSync(`${dir}invalid`).filter((f) => f !== 'expected.json');
    expect(files.sort()).toEqual(
      Object.keys(expected)
        .filter((k) => !k.startsWith('$'))
        .sort(),
    );
  });
});

describe('fixture corpus: valid files', () => {
  for (const file of readdirSync(`${dir}valid`)) {
    it(`${file} is valid without warnings`, async () => {
      const r = await validateTriggerFile(`${dir}valid/${file}`);
      expect(r.errors).toEqual([]);
      expect(r.warnings).toEqual([]);
      expect(r.valid).toBe(true);
    });
  }
});
