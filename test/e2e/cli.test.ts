import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;
const bin = join(root, 'dist/cli/main.js');
const tmp = mkdtempSync(join(tmpdir(), 'dmc-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function run(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const noStack = (s: string): void => {
  expect(s).not.toMatch(/\n\s+at .+:\d+:\d+/);
};

describe('dmc-trigger CLI', () => {
  it.runIf(existsSync(bin))('prints help for the program and every command', () => {
    const top = run('--help');
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/build[\s\S]*validate[\s\S]*convert/);
    for (const cmd of ['build', 'validate', 'convert']) {
      const h = run(cmd, '--help');
      expect(h.code, cmd).toBe(0);
      expect(h.stdout).toMatch(/Exit codes/);
    }
    // Every sample or template a help text names exists (build --help named one that did not).
    const helps = ['build', 'validate', 'convert', 'send', 'simulator', 'daemon', 'sandbox', 'demo', 'mail2sms'].map((c) => run(c, '--help').stdout).join('\n');
    const named = [...helps.matchAll(/\b((?:samples|templates)\/[\w./-]+\.\w+)/g)].map((m) => m[1]!);
    expect(named.length).toBeGreaterThan(0);
    for (const p of named) expect(existsSync(join(root, p)), p).toBe(true);
  });

  it('builds a trigger: exit 0, says what it read and wrote', () => {
    const out = join(tmp, 'ok.csv');
    const r = run('build', '--command', 'templates/sms-dynamic.yaml', '--contacts', 'samples/exports/crm-semicolon.csv', '--map', 'INFO1=Colis', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/utf8 \(UTF-8 byte order mark\), delimiter ';'/);
    expect(r.stdout).toMatch(/wrote .*ok\.csv: 5 contacts/);
    expect(r.stderr).toMatch(/crm-semicolon\.csv:1: warning W_UNMAPPED_COLUMN \[Ville\]/);
    expect(existsSync(out)).toBe(true);
  });

  it('--out naming a folder writes the default name in it (it failed with EISDIR on the rename)', () => {
    const folder = mkdtempSync(join(tmp, 'outdir-'));
    const c = run('convert', 'samples/sms.csv', '--to', 'xml', '--out', folder);
    expect(c.code, c.stderr).toBe(0);
    expect(readdirSync(folder)).toEqual(['sms.xml']);
    const b = run('build', '--command', 'templates/sms.yaml', '--contacts', 'samples/exports/crm-semicolon.csv', '--out', `${join(folder, 'new')}/`);
    expect(b.code, b.stderr).toBe(0);
    expect(readdirSync(join(folder, 'new'))).toEqual(['crm-semicolon.trigger.csv']);
  });

  it('a line past the cap is the one finding (nothing that follows from it), and --max-line-length raises the cap', () => {
    // XML: the head (4 MiB) is read whole, then a text without a tag is capped like a line.
    const xml = join(tmp, 'long-text.xml');
    writeFileSync(
      xml,
      `<?xml version="1.0" encoding="ISO-8859-15"?>\n<dmc><auth><serviceId>12345678</serviceId></auth><command><broadcastName>${'a'.repeat(6 << 20)}</broadcastName></command></dmc>\n`,
    );
    const r = run('validate', xml);
    expect(r.code).toBe(1);
    // It was listed after six "required" errors that only followed from the reading's end.
    expect(r.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/long-text\.xml:1: error E_LINE_TOO_LONG: .* --max-line-length <characters>, or DMC_MAX_LINE_LENGTH\)$/),
      expect.stringMatching(/INVALID \(XML, iso-8859-15, 0 contacts, 1 error\(s\), 0 warning\(s\)\)$/),
    ]);
    const csv = join(tmp, 'long-line.csv');
    writeFileSync(csv, readFileSync(join(root, 'samples/sms.csv'), 'latin1').replace('#END', `${'x'.repeat(2 << 20)}\n#END`), 'latin1');
    const capped = run('validate', csv);
    expect(capped.stdout).toMatch(/long-line\.csv:\d+: error E_LINE_TOO_LONG: line \d+ is longer than 1048576 characters/);
    const raised = run('validate', csv, '--max-line-length', String(4 << 20));
    expect(raised.stdout).not.toMatch(/E_LINE_TOO_LONG/);
    expect(raised.stdout).toMatch(/E_TOO_LONG \[NAME\]: NAME is 2097152 characters/);
    const bad = run('validate', csv, '--max-line-length', 'abc');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--max-line-length "abc": give a number of characters from 1024 to 67108864/);
  });

  it('an invalid export: exit 1, file:line: error CODE lines, nothing written, no stack trace', () => {
    const exp = join(tmp, 'bad.csv');
    writeFileSync(exp, 'Nom;Mobile\nDupont;0612345678\nDurand;pas un numéro\nMartin;06 98 76 54 32 10 99 88\n');
    const out = join(tmp, 'bad-out.csv');
    const r = run('build', '--command', 'templates/sms.yaml', '--contacts', exp, '--out', out);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${exp}:3: error E_PHONE [PHONENUMBER1]: PHONENUMBER1 'pas un numéro' is not a phone number`);
    expect(r.stderr).toContain(`${exp}:4: error E_TOO_LONG [PHONENUMBER1]`);
    expect(r.stderr).toMatch(/build failed: 2 error\(s\); nothing written/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(tmp).filter((f) => f.includes('bad-out'))).toEqual([]);
    noStack(r.stderr);
  });

  it('an emoji in an export is an error naming line and field; --encoding utf8 accepts it', () => {
    const exp = join(tmp, 'emoji.csv');
    writeFileSync(exp, 'Nom;Mobile\nDupont 🎉;0612345678\n');
    const r = run('build', '--command', 'templates/sms.yaml', '--contacts', exp, '--out', join(tmp, 'emoji.csv.out'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/emoji\.csv:2: error E_UNENCODABLE \[NAME\]/);
    const u = run('build', '--command', 'templates/sms.yaml', '--contacts', exp, '--out', join(tmp, 'emoji-utf8.csv'), '--encoding', 'utf8');
    expect(u.code, u.stderr).toBe(0);
  });

  it('a bad command file: exit 1 with its line', () => {
    const cmd = join(tmp, 'cmd.yaml');
    writeFileSync(cmd, 'serviceId: 1\nspaceId: 1\nbroadcastNam: x\n');
    const r = run('build', '--command', cmd);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cmd\.yaml:3: error E_COMMAND_FILE \[broadcastNam\]: unknown key 'broadcastNam'.*did you mean 'broadcastName'/);
  });

  it('usage and I/O errors exit 2 with one clear line', () => {
    const missing = run('build', '--command', 'nope.yaml');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^error: cannot read the command file 'nope\.yaml': no such file/m);
    noStack(missing.stderr);
    expect(run('build', '--command', 'templates/sms.yaml', '--split', 'many').code).toBe(2);
    expect(run('build', '--command', 'templates/sms.yaml', '--format', 'json').code).toBe(2);
    expect(run('validate').code).toBe(2);
    expect(run('frobnicate').code).toBe(2);
    expect(run('validate', 'nope.csv').code).toBe(2);
  });

  it("a journal on PostgreSQL out of reach: one line naming it and what to check, exit 2, never a stack trace (it was an 'internal error')", () => {
    const cfg = join(tmp, 'pg-down.yaml');
    writeFileSync(
      cfg,
      'service: {serviceId: "1"}\ntransport: {protocol: sftp, host: 127.0.0.1, username: u, password: p}\ndaemon:\n  journal: "postgres://dmc@127.0.0.1:1/dmc"\n  dropFolders: [{path: drop, command: cmd.yaml}]\n',
    );
    for (const cmd of ['status', 'daemon']) {
      const r = run(cmd, '--config', cfg);
      expect(r.code, cmd).toBe(2);
      expect(r.stderr, cmd).toMatch(/^error: PostgreSQL at postgres:\/\/dmc@127\.0\.0\.1:1\/dmc: .*is PostgreSQL running and reachable from this host/m);
      noStack(r.stderr);
    }
  });

  it('validate: human lines, exit 0 for valid files and 1 when one is invalid', () => {
    const ok = run('validate', 'samples/sms.csv', 'samples/sms.xml', '--documents', 'samples/documents');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/samples\/sms\.csv: valid \(CSV, iso-8859-15, 5 contacts, 0 error\(s\), 0 warning\(s\)\)/);
    const bad = run('validate', 'samples/sms.csv', 'test/fixtures/invalid/order.csv');
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/test\/fixtures\/invalid\/order\.csv:3: error E_PARAM_ORDER \[serviceId\]/);
  });

  it('validate --json prints one object per file', () => {
    const r = run('validate', '--json', 'samples/sms.csv', 'test/fixtures/invalid/priority-3.csv');
    expect(r.code).toBe(1);
    const objs = r.stdout
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as {
            file: string;
            valid: boolean;
            contacts: number;
            errors: { code: string; line: number; field: string; message: string }[];
            warnings: unknown[];
          },
      );
    expect(objs.map((o) => [o.file, o.valid])).toEqual([
      ['samples/sms.csv', true],
      ['test/fixtures/invalid/priority-3.csv', false],
    ]);
    expect(objs[0]!.contacts).toBe(5);
    expect(objs[1]!.errors[0]).toMatchObject({ code: 'E_ENUM', line: 9, field: 'priority' });
  });

  it('convert: a guide example with errata to canonical XML, then back', () => {
    const guide = join(root, 'test/fixtures/guide/file-trigger/sms-dynamic.csv');
    const xml = join(tmp, 'g.xml');
    const r = run('convert', guide, '--to', 'xml', '--out', xml);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning W_PARAM_ERRATUM \[serviceId\]/);
    const v = run('validate', xml);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/0 warning\(s\)/);
  });
});
