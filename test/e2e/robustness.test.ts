/**
 * A generated robustness suite (issue #14): seeded malformed inputs through
 * `validate`, `convert`, `build` and `reports show` (the CLI's own main, in
 * process), each judged on: an exit code in the documented set (0, 1, 2),
 * no stack trace, a reason naming the file at fault, nothing left behind
 * when it fails, a successful output that validates (no injected line or
 * field), and bounded memory over the whole run. DMC_FUZZ_SEED replays a run.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { rng } from '../helpers/random.js';

const SEED = Number(process.env['DMC_FUZZ_SEED'] ?? 14);
const CASES = Number(process.env['DMC_FUZZ_CASES'] ?? 150);
const repo = new URL('../../', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'dmc-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Mutations of a valid file: each keeps most of it and breaks one thing the way real files break. */
const MUTATIONS: Record<string, (b: Buffer, r: () => number) => Buffer> = {
  truncate: (b, r) => b.subarray(0, Math.floor(r() * b.length)),
  flipBytes: (b, r) => {
    const c = Buffer.from(b);
    for (let i = 0; i < 1 + r() * 8; i++) c[Math.floor(r() * c.length)] = Math.floor(r() * 256);
    return c;
  },
  controlChars: (b, r) => {
    const c = [...b];
    for (let i = 0; i < 3; i++) c.splice(Math.floor(r() * c.length), 0, [0x00, 0x1b, 0x07, 0x0c, 0x85, 0x9b][Math.floor(r() * 6)]!);
    return Buffer.from(c);
  },
  escapeSequence: (b, r) => {
    const at = Math.floor(r() * b.length);
    return Buffer.concat([b.subarray(0, at), Buffer.from('\x1b[2J\x1b]0;pwned\x07'), b.subarray(at)]);
  },
  hugeField: (b, r) => {
    const at = Math.floor(r() * b.length);
    return Buffer.concat([b.subarray(0, at), Buffer.alloc(200_000 + Math.floor(r() * 200_000), 0x41), b.subarray(at)]);
  },
  extraSeparators: (b, r) => {
    const s = b.toString('latin1').split('\n');
    const i = Math.floor(r() * s.length);
    s[i] = `${s[i]};;;"`;
    return Buffer.from(s.join('\n'), 'latin1');
  },
  injectMarker: (b, r) => {
    const s = b.toString('latin1').split('\n');
    s.splice(Math.floor(r() * s.length), 0, ['#END', '#COMMAND', '#CONTACTS', '</dmc>', '<!DOCTYPE x>'][Math.floor(r() * 5)]!);
    return Buffer.from(s.join('\n'), 'latin1');
  },
  utf16: (b) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(b.toString('latin1'), 'utf16le')]),
  randomBytes: (_b, r) => Buffer.from(Array.from({ length: 1 + Math.floor(r() * 4096) }, () => Math.floor(r() * 256))),
  empty: () => Buffer.alloc(0),
  dropLines: (b, r) =>
    Buffer.from(
      b
        .toString('latin1')
        .split('\n')
        .filter(() => r() > 0.3)
        .join('\n'),
      'latin1',
    ),
  crOnly: (b) => Buffer.from(b.toString('latin1').replace(/\n/g, '\r'), 'latin1'),
};

const SOURCES = {
  trigger: ['samples/sms.csv', 'samples/sms.xml', 'samples/fax-pdf.csv', 'samples/email-attachments.xml', 'samples/voice-tts.csv'],
  export: ['samples/exports/crm-semicolon.csv', 'samples/exports/emails-cp1252.csv', 'samples/exports/fax-tab-latin9.tsv', 'samples/exports/cross-media.jsonl'],
};

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, {
    out: (l) => {
      out += `${l}\n`;
    },
    err: (l) => {
      err += `${l}\n`;
    },
    isTTY: false,
  });
  return { code, out, err };
}

function judge(label: string, file: string, r: { code: number; out: string; err: string }, json = false): void {
  expect([0, 1, 2], `${label}: exit ${r.code}\n${r.err}`).toContain(r.code);
  expect(r.err + r.out, `${label}: a stack trace`).not.toMatch(/internal error|\n\s+at \S+ \(|TypeError|RangeError/);
  // No raw control character reaches the terminal (escape sequences, forged lines); JSON escapes C0 itself.

  const raw = json ? /[\u0000-\u0008\u000b-\u001f]/ : /[\u0000-\u0008\u000b-\u001f\u007f\u0085\u009b]/;
  expect(raw.test(r.err + r.out), `${label}: a raw control character in the output`).toBe(false);
  if (r.code !== 0) expect(r.err + r.out, `${label}: the reason names the file`).toContain(file.split('/').pop()!);
}

describe(`robustness: ${CASES} seeded malformed inputs per command (seed ${SEED})`, () => {
  const random = rng(SEED);
  const names = Object.keys(MUTATIONS);
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;

  it('validate and convert: documented exit codes, no stack trace, the file named, nothing half written, outputs valid', async () => {
    for (let i = 0; i < CASES; i++) {
      const src = SOURCES.trigger[Math.floor(random() * SOURCES.trigger.length)]!;
      const m = names[Math.floor(random() * names.length)]!;
      const label = `#${i} ${m}(${src})`;
      const file = join(dir, `t${i}${src.endsWith('.xml') ? '.xml' : '.csv'}`);
      writeFileSync(file, MUTATIONS[m]!(readFileSync(join(repo, src)), random));
      judge(`validate ${label}`, file, await cli(['validate', file]));
      const out = join(dir, `t${i}.out.${src.endsWith('.xml') ? 'csv' : 'xml'}`);
      const conv = await cli(['convert', file, '--to', src.endsWith('.xml') ? 'csv' : 'xml', '--out', out]);
      judge(`convert ${label}`, file, conv);
      if (conv.code === 0) {
        // What was written is a valid trigger: nothing injected broke it.
        expect((await cli(['validate', out])).code, `convert ${label}: its output validates`).not.toBe(1);
      } else {
        expect(existsSync(out), `convert ${label}: nothing left behind`).toBe(false);
      }
      peak = Math.max(peak, process.memoryUsage().rss);
    }
    expect(
      readdirSync(dir).filter((f) => /\.(tmp|part)$|^\./.test(f)),
      'no temporary file left',
    ).toEqual([]);
  }, 120_000);

  it('build from malformed exports and command files', async () => {
    const commands = ['templates/sms.yaml', 'templates/fax-pdf.yaml'];
    const commandMutations: Record<string, (t: string) => string> = {
      empty: () => '',
      braces: () => '{}',
      noName: (t) => t.replace(/^broadcastName:.*$/m, ''),
      wrongType: (t) => t.replace(/^messages:/m, 'messages: 12\nx:'),
      aliasBomb: () => 'a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n',
      escapes: (t) => t.replace(/^broadcastName:.*$/m, 'broadcastName: "\\e[31mred\\n#COMMAND"'),
      keep: (t) => t,
    };
    for (let i = 0; i < CASES; i++) {
      const src = SOURCES.export[Math.floor(random() * SOURCES.export.length)]!;
      const m = names[Math.floor(random() * names.length)]!;
      const cmdSrc = commands[Math.floor(random() * commands.length)]!;
      const cm = Object.keys(commandMutations)[Math.floor(random() * Object.keys(commandMutations).length)]!;
      const label = `#${i} ${m}(${src}) with ${cm}(${cmdSrc})`;
      const exp = join(dir, `e${i}${src.slice(src.lastIndexOf('.'))}`);
      writeFileSync(exp, MUTATIONS[m]!(readFileSync(join(repo, src)), random));
      const cmd = join(dir, `c${i}.yaml`);
      writeFileSync(cmd, commandMutations[cm]!(readFileSync(join(repo, cmdSrc), 'utf8')));
      const out = join(dir, `b${i}.csv`);
      const r = await cli(['build', '--command', cmd, '--contacts', exp, '--out', out, '--map', 'INFO1=Colis']);
      expect([0, 1, 2], `${label}: exit ${r.code}\n${r.err}`).toContain(r.code);
      expect(r.err + r.out, `${label}: a stack trace`).not.toMatch(/internal error|\n\s+at \S+ \(/);

      expect(/[\u0000-\u0008\u000b-\u001f\u007f\u009b]/.test(r.err + r.out), `${label}: a raw control character`).toBe(false);
      if (r.code === 0) expect((await cli(['validate', out])).code, `${label}: the built trigger validates`).not.toBe(1);
      else {
        expect(existsSync(out), `${label}: nothing left behind`).toBe(false);
        expect(r.err, `${label}: names the command file or the export`).toMatch(new RegExp(`c${i}\\.yaml|e${i}\\.`));
      }
      peak = Math.max(peak, process.memoryUsage().rss);
    }
  }, 120_000);

  it('reports show on malformed reports', async () => {
    const report = readFileSync(join(repo, 'test/fixtures/cra/CRA_12345678_2027-01-15.csv'));
    for (let i = 0; i < CASES; i++) {
      const m = names[Math.floor(random() * names.length)]!;
      const file = join(dir, `CRA_12345678_2027-01-${String(1 + (i % 28)).padStart(2, '0')}.csv`);
      writeFileSync(file, MUTATIONS[m]!(report, random));
      judge(`reports show #${i} ${m}`, file, await cli(['reports', 'show', file]));
      judge(`reports show --json #${i} ${m}`, file, await cli(['reports', 'show', file, '--json']), true);
      peak = Math.max(peak, process.memoryUsage().rss);
    }
    expect(peak - rss0, `RSS grew by ${Math.round((peak - rss0) / 1048576)} MB`).toBeLessThan(400 << 20);
  }, 120_000);
});

describe('user errors are never crashes (issue #14, #13 #14)', () => {
  const sub = join(dir, 'cases');
  mkdirSync(sub, { recursive: true });
  const exportFile = join(repo, 'samples/exports/crm-semicolon.csv');

  it('build with an empty command file, {} or no broadcastName: exit 1 with the reason, no stack trace', async () => {
    for (const [name, text] of [
      ['empty.yaml', ''],
      ['braces.yaml', '{}'],
      ['noname.yaml', readFileSync(join(repo, 'templates/sms.yaml'), 'utf8').replace(/^broadcastName:.*$/m, '')],
    ] as const) {
      writeFileSync(join(sub, name), text);
      const r = await cli(['build', '--command', join(sub, name), '--contacts', exportFile, '--out', join(sub, `${name}.csv`), '--map', 'INFO1=Colis']);
      expect(r.code, `${name}: ${r.err}`).toBe(1);
      expect(r.err).toContain(name);
      expect(r.err).toMatch(/broadcastName|serviceId/);
      expect(r.err).not.toMatch(/internal error|TypeError/);
    }
  });

  it("an export that holds NUL bytes is reported under the export's name, not the command file's", async () => {
    const exp = join(sub, 'nul.csv');
    writeFileSync(exp, Buffer.concat([Buffer.from('Nom;Mobile\nA;0612345678\n'), Buffer.alloc(64, 0)]));
    const r = await cli(['build', '--command', join(repo, 'templates/sms.yaml'), '--contacts', exp, '--out', join(sub, 'nul.trigger.csv')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/nul\.csv(:\d+)?: error E_EXPORT/);
    expect(r.err).not.toMatch(/sms\.yaml: error E_EXPORT/);
  });

  it.runIf(existsSync('/dev/full'))('an output that cannot be written (stdout on a full device) is one line and exit 2, no stack trace', () => {
    const full = openSync('/dev/full', 'w');
    try {
      for (const args of [
        ['validate', join(repo, 'samples/sms.csv'), '--json'],
        ['reports', 'show', join(repo, 'samples/reports', readdirSync(join(repo, 'samples/reports'))[0]!)],
      ]) {
        const r = spawnSync(process.execPath, [join(repo, 'dist/cli/main.js'), ...args], {
          stdio: ['ignore', full, 'pipe'],
          encoding: 'utf8',
          timeout: 30_000,
        });
        expect(r.status, `${args[0]}: ${r.stderr}`).toBe(2);
        expect(r.stderr).toBe('error: standard output cannot be written (ENOSPC: no space left on device, write): free some space on that disk\n');
      }
    } finally {
      closeSync(full);
    }
  });

  it('send --timeout abc is a usage error naming the option', async () => {
    const config = join(sub, 'send.yaml');
    writeFileSync(
      config,
      'service: {serviceId: "12345678"}\ntransport: {protocol: ftp, host: 127.0.0.1, port: 9, username: u, password: p}\ntimeouts: {connect: 1}\nretries: {attempts: 0}\n',
    );
    const r = await cli(['send', join(repo, 'samples/sms.csv'), '--config', config, '--wait', '--timeout', 'abc']);
    expect(r.code, r.err).toBe(2);
    expect(r.err).toMatch(/--timeout <s>.*'abc' is invalid\. give a positive number of seconds/);
  });

  it('status and daemon with a corrupt journal, and a second daemon on one journal: one line, exit 2', async () => {
    const journal = join(sub, 'state', 'journal.db');
    mkdirSync(join(sub, 'state'), { recursive: true });
    writeFileSync(journal, 'this is not a database, it is a text file that someone copied here by mistake\n'.repeat(100));
    const config = join(sub, 'dmc.yaml');
    writeFileSync(
      config,
      `service: {serviceId: "12345678"}\ntransport: {protocol: ftp, host: 127.0.0.1, port: 9, username: u, password: p}\ndaemon:\n  journal: ${journal}\n  dropFolders: [{path: ${join(sub, 'drop')}, command: ${join(repo, 'templates/sms.yaml')}}]\n`,
    );
    for (const args of [
      ['status', '--config', config],
      ['retry', '1', '--config', config],
    ]) {
      const r = await cli(args);
      expect(r.code, `${args[0]}: ${r.err}`).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(/the journal .*journal\.db cannot be used/);
    }
    rmSync(journal);
    const { Journal } = await import('../../src/store/journal.js');
    const holder = await Journal.open(journal);
    try {
      const { Daemon } = await import('../../src/daemon/daemon.js');
      const { loadConfig } = await import('../../src/config/config.js');
      const { silentLogger } = await import('../../src/transport/logger.js');
      let err: Error | undefined;
      try {
        await new Daemon(await loadConfig(config), silentLogger).start();
      } catch (e) {
        err = e as Error;
      }
      expect(err?.name).toBe('JournalLockedError');
    } finally {
      await holder.close();
    }
  });
});
