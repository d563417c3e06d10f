/**
 * retry and resend put an input's file back into its drop folder: the file
 * the daemon put in failed/ or sent/, never what a link there points to.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ActionError, retryInput } from '../../src/daemon/actions.js';
import { Journal } from '../../src/store/journal.js';

let dir: string;
let journal: Journal;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dmc-actions-'));
  for (const d of ['drop/failed', 'drop/work']) mkdirSync(join(dir, d), { recursive: true });
  journal = await Journal.open(join(dir, 'j.db'));
});
afterEach(async () => {
  await journal.close();
  rmSync(dir, { recursive: true, force: true });
});

async function failedInput(name: string) {
  const folder = join(dir, 'drop');
  const row = await journal.addInput({ folder, name, hash: `h-${name}`, size: 10, kind: 'export', workDir: join(folder, 'work') });
  await journal.setInput(row.id, 'failed');
  return (await journal.input(row.id))!;
}

describe('retry and resend', () => {
  it('copy the file back into the drop folder', async () => {
    const row = await failedInput('a.csv');
    writeFileSync(join(dir, 'drop/failed/a.csv'), 'Nom;Mobile\nA;0612345678\n');
    await retryInput(journal, row);
    expect(readFileSync(join(dir, 'drop/a.csv'), 'utf8')).toBe('Nom;Mobile\nA;0612345678\n');
  });

  it('never copy what a link in failed/ points to (it would become an input)', async () => {
    const secret = join(dir, 'secret.csv');
    writeFileSync(secret, 'Password;Mobile\nTOPSECRET;0612345678\n');
    const row = await failedInput('b.csv');
    symlinkSync(secret, join(dir, 'drop/failed/b.csv'));
    await expect(retryInput(journal, row)).rejects.toThrow(ActionError);
    await expect(retryInput(journal, row)).rejects.toThrow(
      /b\.csv is a symbolic link, not a regular file: not read \(links are never followed\): not copied back/,
    );
    expect(existsSync(join(dir, 'drop/b.csv'))).toBe(false);
    expect(readdirSync(join(dir, 'drop')).filter((f) => f.includes('retry'))).toEqual([]);
    expect((await journal.input(row.id))!.state).toBe('failed');
  });
});
