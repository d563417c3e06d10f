/**
 * docs/library.md's examples run (issue #11): each file of
 * examples/library/ is run with node from the repository (it imports
 * `dmc-trigger` by the package's own name, as a user's program does), and
 * the page shows each file exactly as it is.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const repo = new URL('../../', import.meta.url).pathname;
const dir = join(repo, 'examples/library');
const tmp = mkdtempSync(join(tmpdir(), 'dmc-examples-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** What each example must print (one pattern per line it must hold). */
const EXPECTED: Record<string, RegExp[]> = {
  'build-from-records.mjs': [/^built .*relance\.csv: 2 contacts, \d+ bytes \(ISO-8859-15\)$/m],
  'build-to-stream.mjs': [/^streamed 5 contacts to .*sms\.xml/m],
  'validate.mjs': [/^samples\/fax-pdf\.csv: valid, 2 contacts, csv, iso-8859-15$/m, /^line \d+ priority: E_ENUM priority must be one of 1, 2, 4, not '3'$/m],
  'read-push.mjs': [
    /^service 1234: 3 contact\(s\)$/m,
    /^notif 8xv0_kTQ7oVdaW in broadcast 6546713: ERROR at 2016-11-08 13:16:56, failed \(code 303: Google error : NotRegistered\)$/m,
  ],
  'read-report.mjs': [/^broadcast 1001: 5 contact\(s\), 80 % reached$/m, /4 × Reçu \(CRA_SMS_RECEIVED/, /^12 record\(s\); 0 problem\(s\) in the file$/m],
  'send-to-simulator.mjs': [
    /^uploaded in\/fax-pdf_\w+_\w+\.csv$/m,
    /^outcome: processed$/m,
    /^report CRA_12345678_\d{4}-\d{2}-\d{2}\.csv: 2 record\(s\), acked$/m,
  ],
  'mail2sms-plan.mjs': [/^to 123@mailtoSMS\.fr, subject 0601020304;0711223344$/m, /^rejected 12: /m, /^duplicate 0601020304: sent once$/m],
};

describe.runIf(existsSync(join(repo, 'dist/index.js')))('docs/library.md examples (issue #11)', () => {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.mjs'))
    .sort();
  const doc = readFileSync(join(repo, 'docs/library.md'), 'utf8');

  it('every example is on the page, as it is in its file, and has its expectations here', () => {
    expect(files.sort()).toEqual(Object.keys(EXPECTED).sort());
    for (const f of files) {
      const shown = new RegExp(`<!-- example: ${f.replace('.', '\\.')} -->\\n\`\`\`js\\n([\\s\\S]*?)\\n\`\`\`\\n<!-- /example -->`).exec(doc);
      expect(shown?.[1], `${f} on docs/library.md (npm run docs rewrites it)`).toBe(readFileSync(join(dir, f), 'utf8').trimEnd());
    }
  });

  it.each(Object.keys(EXPECTED))('%s runs and prints what the page says', (f) => {
    const out = mkdtempSync(join(tmp, 'run-'));
    // The build examples take a folder for their output (a temporary one otherwise).
    const args = f.startsWith('build-') ? [out] : [];
    const r = spawnSync(process.execPath, [join(dir, f), ...args], { cwd: repo, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, `${f}:\n${r.stdout}\n${r.stderr}`).toBe(0);
    for (const p of EXPECTED[f]!) expect(r.stdout).toMatch(p);
  });
});
