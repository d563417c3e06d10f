/**
 * Hostile input at the format and configuration layers (issue #14): each
 * case names the defect it proves fixed.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/config.js';
import { parseCommandFile } from '../../src/formats/command-file.js';
import { CRA_HEADER, readCra } from '../../src/formats/cra.js';
import { checkValue } from '../../src/formats/encoding.js';
import { FindingList, TriggerFormatError } from '../../src/formats/findings.js';
import { printable } from '../../src/formats/printable.js';
import { readSiExport } from '../../src/formats/si-export.js';
import { validateReading } from '../../src/formats/validate.js';
import { openTriggerFile, validateTriggerFile } from '../../src/files/read-trigger.js';
import { parseSeconds, UsageError } from '../../src/cli/output.js';
import { readCsvTrigger } from '../../src/formats/csv-reader.js';
import { readXmlTrigger } from '../../src/formats/xml-reader.js';

const dir = mkdtempSync(join(tmpdir(), 'dmc-hostile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const repo = new URL('../../', import.meta.url).pathname;
const sms = readFileSync(join(repo, 'samples/sms.csv'), 'latin1');

/** `n` bytes of one character, in 1 MiB chunks (never held whole). */
function* flood(head: string, n: number, ch = 'a'): Generator<Buffer> {
  yield Buffer.from(head, 'latin1');
  const chunk = Buffer.alloc(1 << 20, ch);
  for (let sent = 0; sent < n; sent += chunk.length) yield chunk;
}

describe('hostile input (issue #14)', () => {
  it('#2 a document named with a path is E_DOCUMENT_PATH, without --documents too', async () => {
    for (const name of ['../secret.pdf', '/etc/passwd.pdf', 'sub/dir.pdf', '..\\\\x.pdf']) {
      const path = join(dir, 'path.csv');
      writeFileSync(path, sms.replace('multimediaType:TXT\ntext:Contenu de mon message SMS', `multimediaType:PDF\nfileName:${name}`), 'latin1');
      const r = await validateTriggerFile(path);
      expect(
        r.errors.map((e) => e.code),
        name,
      ).toContain('E_DOCUMENT_PATH');
      expect(r.errors.find((e) => e.code === 'E_DOCUMENT_PATH')!.line, name).toBeGreaterThan(1);
    }
  });

  it('#3 an XML trigger with a DOCTYPE is refused, whatever it declares (external DTD, parameter entities)', async () => {
    const xml = readFileSync(join(repo, 'samples/sms.xml'), 'latin1');
    for (const doctype of [
      '<!DOCTYPE dmc SYSTEM "http://127.0.0.1:9/evil.dtd">',
      '<!DOCTYPE dmc [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>',
      '<!DOCTYPE dmc [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>',
    ]) {
      const text = xml.replace(/(<\?xml[^>]*\?>)/, `$1\n${doctype}`);
      const findings = new FindingList();
      const r = await validateReading(await readXmlTrigger([Buffer.from(text, 'latin1')], findings), findings);
      expect(
        r.errors.map((e) => e.code),
        doctype,
      ).toContain('E_XML_DOCTYPE');
      expect(r.errors.find((e) => e.code === 'E_XML_DOCTYPE')!.line).toBe(2);
    }
  });

  it('#6 a 64 MB line without a line break is refused with its line number, in bounded memory, for every reader', async () => {
    const before = process.memoryUsage().rss;
    const size = 64 << 20;
    const csv = new FindingList();
    const reading = await readCsvTrigger(flood('#COMMAND\nserviceId:1\n', size), csv);
    for await (const c of reading.contacts) void c;
    expect(csv.items.find((f) => f.code === 'E_LINE_TOO_LONG')?.line).toBe(3);
    const xml = new FindingList();
    const xr = await readXmlTrigger(flood('<?xml version="1.0" encoding="ISO-8859-15"?>\n<dmc><auth><serviceId>', size), xml);
    for await (const c of xr.contacts) void c;
    expect(xml.items.map((f) => f.code)).toContain('E_LINE_TOO_LONG');
    const cra = new FindingList();
    for await (const r of readCra(flood(`${CRA_HEADER.join(';')}\n`, size), cra)) void r;
    expect(cra.items.find((f) => f.code === 'E_LINE_TOO_LONG')?.line).toBe(2);
    const jsonl = new FindingList();
    const ex = await readSiExport(flood('{"Nom":"a","Mobile":"0612345678"}\n{"Nom":"', size), jsonl, { name: 'x.jsonl' });
    for await (const r of ex.rows) void r;
    expect(jsonl.items.find((f) => f.code === 'E_LINE_TOO_LONG')?.line).toBe(2);
    expect(process.memoryUsage().rss - before).toBeLessThan(400 << 20);
  }, 60_000);

  it('#7 YAML alias bombs are refused in a configuration and in a command file, naming the file', async () => {
    const bomb =
      'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n';
    await expect(parseConfig(`service: {serviceId: "1"}\n${bomb}`, 'bomb.yaml')).rejects.toThrow(ConfigError);
    await expect(parseConfig(`service: {serviceId: "1"}\n${bomb}`, 'bomb.yaml')).rejects.toThrow(/bomb\.yaml: .*aliases/);
    let err: unknown;
    try {
      parseCommandFile(`broadcastName: x\n${bomb}`, 'cmd.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TriggerFormatError);
    expect((err as TriggerFormatError).findings[0]!.message).toMatch(/aliases/);
  });

  it('#8 durations beyond the timer range or of the wrong type are refused with the key named', async () => {
    const base = 'service: {serviceId: "1"}\ntransport: {protocol: ftp, host: h, username: u, password: p}\n';
    await expect(parseConfig(`${base}timeouts: {transfer: 3000000}`, 'c.yaml')).rejects.toThrow(/timeouts\.transfer: at most 2147483 seconds/);
    await expect(parseConfig(`${base}timeouts: {poll: "fast"}`, 'c.yaml')).rejects.toThrow(/timeouts\.poll: /);
    expect(() => parseSeconds('abc', '--timeout')).toThrow(UsageError);
    expect(() => parseSeconds('3000000', '--timeout')).toThrow(/at most 2147483/);
    expect(parseSeconds('90', '--timeout')).toBe(90);
  });

  it('#14 a value of the wrong type is named as such, not as missing', async () => {
    const base = 'service: {serviceId: "1"}\ntransport: {protocol: ftp, host: h, username: u, password: p}\n';
    await expect(parseConfig(`${base}retries: {attempts: "many"}`, 'c.yaml')).rejects.toThrow(/retries\.attempts: expected a number, got text "many"/);
    // A mapping where a list is expected is called a mapping (it was called "a list").
    await expect(parseConfig(`${base}daemon:\n  journal: j.db\n  hooks: {url: "http://h/"}\n`, 'c.yaml')).rejects.toThrow(
      /c\.yaml:5: daemon\.hooks: expected a list, got a mapping/,
    );
    await expect(parseConfig(`${base}daemon:\n  journal: j.db\n  dropFolders: drop\n`, 'c.yaml')).rejects.toThrow(
      /daemon\.dropFolders: expected a list, got text "drop"/,
    );
    await expect(parseConfig(`${base}retries: {minDelay: 1}`, 'c.yaml')).resolves.toBeDefined();
    await expect(parseConfig('transport: {protocol: ftp, host: h, username: u, password: p}\n', 'c.yaml')).rejects.toThrow(/service is required/);
  });

  it('#13 drop folders the daemon cannot keep apart, and a journal that is a folder, are configuration errors', async () => {
    const base = 'service: {serviceId: "1"}\ntransport: {protocol: ftp, host: h, username: u, password: p}\ndaemon:\n';
    const cfg = join(dir, 'c.yaml');
    const folders = (...paths: string[]): string => `  journal: j.db\n  dropFolders:\n${paths.map((p) => `    - {path: ${p}, command: cmd.yaml}\n`).join('')}`;
    // Accepted before: two watchers of one folder; a folder inside another's work/, whose files it would take as new inputs.
    await expect(parseConfig(base + folders('drop', './drop'), cfg)).rejects.toThrow(
      /dropFolders\[1\] is the same folder as dropFolders\[0\] .*: list it once/,
    );
    await expect(parseConfig(base + folders('drop', 'drop/work'), cfg)).rejects.toThrow(
      /dropFolders\[1\] \(.*drop\/work\) is inside .*drop\/work, which the daemon keeps for dropFolders\[0\]/,
    );
    await expect(parseConfig(base + folders('drop/sent/x', 'drop'), cfg)).rejects.toThrow(/dropFolders\[0\] .* is inside .*drop\/sent/);
    await expect(parseConfig(base + folders('drop', 'drop/sub', 'drop-work'), cfg)).resolves.toBeDefined();
    await expect(parseConfig(`${base}  journal: ${dir}\n  dropFolders: [{path: drop, command: cmd.yaml}]\n`, cfg)).rejects.toThrow(
      /daemon\.journal '.*' is a folder: name a file in it, e\.g\. .*journal\.db/,
    );
  });

  it('#5 a password file others can read is warned about, as OpenSSH does for keys', async () => {
    const pw = join(dir, 'pw');
    writeFileSync(pw, 'secret\n');
    chmodSync(pw, 0o644);
    const warned: string[] = [];
    const onWarning = (w: Error): void => {
      warned.push(w.message);
    };
    process.on('warning', onWarning);
    try {
      const c = await parseConfig(`service: {serviceId: "1"}\ntransport: {protocol: ftp, host: h, username: u, passwordFile: ${pw}}\n`, join(dir, 'c.yaml'));
      expect(c.warnings?.[0]).toMatch(/can be read by other users \(mode 0644\): chmod 600/);
      chmodSync(pw, 0o600);
      const ok = await parseConfig(`service: {serviceId: "1"}\ntransport: {protocol: ftp, host: h, username: u, passwordFile: ${pw}}\n`, join(dir, 'c.yaml'));
      expect(ok.warnings).toEqual([]);
      await new Promise((r) => setImmediate(r));
      expect(warned.some((w) => w.includes('chmod 600'))).toBe(true);
      expect(warned.join('\n')).not.toContain('secret');
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('#4 webhook URLs are http or https only', async () => {
    const base =
      'service: {serviceId: "1"}\ntransport: {protocol: ftp, host: h, username: u, password: p}\ndaemon:\n  dropFolders: [{path: d, command: c.yaml}]\n  hooks:\n';
    for (const url of ['file:///etc/passwd', 'javascript:alert(1)', 'ftp://x/y']) {
      await expect(parseConfig(`${base}    - {on: [failed], url: "${url}"}\n`, 'c.yaml'), url).rejects.toThrow(/http:\/\/ or https:\/\//);
    }
    await expect(parseConfig(`${base}    - {on: [failed], url: "https://si.example/x?token=1"}\n`, 'c.yaml')).resolves.toBeDefined();
  });

  it('#15 UTF-8 output refuses what it cannot write faithfully: non-characters, lone surrogates, NEL, U+2028/2029, C1 controls', () => {
    const utf8 = { encoding: 'utf8' as const, replaceForbidden: false };
    for (const [v, code] of [
      ['a\uFFFEb', 'E_UNENCODABLE'],
      ['a\uFDD0', 'E_UNENCODABLE'],
      ['x\uD800y', 'E_UNENCODABLE'],
      ['x\uDC00', 'E_UNENCODABLE'],
      ['a\u2028b', 'E_FORBIDDEN_CHAR'],
      ['a\u2029b', 'E_FORBIDDEN_CHAR'],
      ['a\u0085b', 'E_FORBIDDEN_CHAR'],
      ['a\u009Bb', 'E_FORBIDDEN_CHAR'],
    ] as const) {
      for (const kind of ['contact', 'command'] as const) {
        const r = checkValue(v, kind, utf8);
        expect(r.ok, `${JSON.stringify(v)} ${kind}`).toBe(false);
        if (!r.ok) expect(r.problem.code, JSON.stringify(v)).toBe(code);
      }
    }
    // What UTF-8 carries stays: astral characters (a surrogate pair), CJK, combining marks.
    for (const v of ['😀 ok', '日本語', 'é', 'Zoë']) expect(checkValue(v, 'contact', utf8)).toMatchObject({ ok: true, value: v });
    // On request, line separators become spaces and C1 controls go, with a warning.
    const r = checkValue('a\u2028b\u0085c\u0090', 'contact', { encoding: 'utf8', replaceForbidden: true });
    expect(r.ok && r.value).toBe('a b c');
    // ISO-8859-15 output refuses C1 controls too (bytes 0x80-0x9F print as nothing).
    expect(checkValue('a\u0085b', 'contact', { encoding: 'iso-8859-15', replaceForbidden: false }).ok).toBe(false);
  });

  it('#12 #14 text from outside is printed escaped: no forged line, no terminal escape', () => {
    expect(printable('evil\nline 2026-01-01 sent #9 ok')).toBe('evil\\nline 2026-01-01 sent #9 ok');
    expect(printable('\u001b[31mred\u001b[0m')).toBe('\\u001b[31mred\\u001b[0m');
    expect(printable('x'.repeat(300)).length).toBe(201);
    // Bidirectional controls reorder what a reader sees: "invoice\u202Efdp.csv" reads as "invoicevsc.pdf".
    expect(printable('invoice\u202Efdp.csv')).toBe('invoice\\u202efdp.csv');
    expect(printable('a\u2066b\u2069c\u200fd')).toBe('a\\u2066b\\u2069c\\u200fd');
  });

  it('#12 every CLI line escapes bidirectional controls from input, as it does terminal escapes', async () => {
    const name = join(dir, 'invoice\u202Efdp.csv');
    writeFileSync(name, sms, 'latin1');
    const out: string[] = [];
    const { main } = await import('../../src/cli/main.js');
    await main(['validate', name], { out: (l) => out.push(l), err: (l) => out.push(l), isTTY: false });
    expect(out.join('\n')).toContain('invoice\\u202efdp.csv: valid');
    expect(out.join('\n')).not.toContain('\u202E');
  });

  it('#1 an export whose header is a secret is quoted only as a short escaped excerpt', async () => {
    const secret = 'root:$y$j9T$Very.Long.Secret.Hash.Of.The.Root.Password.That.Must.Not.Leak:19000:0:99999:7:::';
    const findings = new FindingList();
    await readSiExport([Buffer.from(`${secret}\nx\n`)], findings, { name: 'pw.csv' });
    const messages = findings.items.map((f) => f.message).join('\n');
    expect(messages).toMatch(/E_MAPPING|phone number/);
    expect(messages).not.toContain(secret);
    expect(messages).not.toContain('That.Must.Not.Leak');
  });

  it("openTriggerFile still reads the guide's examples (no regression from the caps)", async () => {
    const findings = new FindingList();
    const r = await openTriggerFile(join(repo, 'samples/sms.csv'), findings);
    let n = 0;
    for await (const c of r.contacts) {
      void c;
      n++;
    }
    expect(n).toBeGreaterThan(0);
    expect(findings.items.filter((f) => f.severity === 'error')).toEqual([]);
  });
});
