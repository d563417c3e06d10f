/**
 * Issue #19.4: usage errors before anything happens. Every option value is
 * checked as it is parsed (exit 2, naming the option); a bare `dmc-trigger`
 * is a usage error showing the help; every command's --help has its exit
 * codes and an example; a misspelled configuration key gets a suggestion.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { parseConfig } from '../../src/config/config.js';
import { parisTime } from '../../src/formats/paris-time.js';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l), isTTY: false });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('usage errors come first', () => {
  it('a bare dmc-trigger prints the help on stderr and exits 2', async () => {
    const r = await run();
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/Usage: dmc-trigger/);
  });

  it.each([
    [['status', '--config', 'x.yaml', '--limit', 'abc'], /--limit <n>.*'abc' is invalid.*whole number from 1/],
    [['simulator', '--report-at', '25:99'], /--report-at <HH:MM>.*'25:99' is invalid.*HH:MM/],
    [['simulator', '--interval', 'soon'], /--interval <s>.*'soon' is invalid/],
    [['simulator', '--sftp-port', '70000'], /--sftp-port <n>.*'70000' is invalid/],
    [['mail', 'send', 'templates/sms.yaml', '--config', 'x.yaml', '--wait', '--timeout', 'abc'], /--timeout <s>.*'abc' is invalid/],
    [['mail2sms', '--config', 'x.yaml', '--to', '0601020304', '--text', 'x', '--timeout', 'abc'], /--timeout <s>.*'abc' is invalid/],
    [['send', 'x.csv', '--config', 'x.yaml', '--wait', '--timeout', '-3'], /--timeout <s>.*'-3' is invalid/],
  ])('%j is a usage error before anything is read or sent', async (argv, message) => {
    const r = await run(...argv);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err).not.toMatch(/internal error|at .*\.js:\d+/);
  });

  it('every command has its exit codes and an example in --help', async () => {
    const commands = [
      ['build'],
      ['validate'],
      ['convert'],
      ['send'],
      ['reports', 'fetch'],
      ['reports', 'show'],
      ['init'],
      ['simulator'],
      ['mail', 'send'],
      ['mail', 'replies'],
      ['mail2sms'],
      ['daemon'],
      ['status'],
      ['results'],
      ['push-receiver'],
      ['retry'],
      ['resend'],
      ['sandbox'],
      ['demo'],
    ];
    for (const c of commands) {
      const r = await run(...c, '--help');
      expect(r.code, c.join(' ')).toBe(0);
      expect(r.out, c.join(' ')).toMatch(/Exit codes: 0/);
      expect(r.out, c.join(' ')).toMatch(/Example:\n {2}(npx )?dmc-trigger /);
    }
  });
});

describe('configuration keys', () => {
  it('a misspelled key gets the nearest allowed one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dmc-cfgkey-'));
    try {
      const file = join(dir, 'dmc.yaml');
      const text =
        'service: {serviceId: "1"}\ntransport: {protocol: sftp, host: h, username: u, password: p, hostKey: "SHA256:x"}\ndaemon:\n  journal: j.db\n  stableSecond: 3\n  dropFolders: [{path: d, command: c.yaml, rejectBadRow: true}]\n';
      writeFileSync(file, text);
      await expect(parseConfig(text.replace('rejectBadRow', 'rejectBadRows'), file)).rejects.toThrow(
        /unknown key 'daemon.stableSecond' \(did you mean 'stableSeconds'\?\)/,
      );
      const folder = text.replace('  stableSecond: 3\n', '');
      await expect(parseConfig(folder, file)).rejects.toThrow(/unknown key 'daemon.dropFolders.0.rejectBadRow' \(did you mean 'rejectBadRows'\?\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('one behaviour for build and the daemon (issue #19.1)', () => {
  it('build fills {date}, {time} and {file} in broadcastName as the daemon does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dmc-placeholders-'));
    try {
      const repo = new URL('../../', import.meta.url).pathname;
      const cmd = readFileSync(join(repo, 'templates/sms.yaml'), 'utf8').replace(/^broadcastName:.*$/m, 'broadcastName: "Noël {date} {file}"');
      writeFileSync(join(dir, 'cmd.yaml'), cmd);
      writeFileSync(join(dir, 'relance.csv'), 'Nom;Mobile\nA;0612345678\n');
      const r = await run('build', '--command', join(dir, 'cmd.yaml'), '--contacts', join(dir, 'relance.csv'), '--out', join(dir, 'out.csv'), '--json');
      expect(r.code, r.err).toBe(0);
      const name = (JSON.parse(r.out) as { files: { broadcastName: string }[] }).files[0]!.broadcastName;
      expect(name).toBe(`Noël ${parisTime(new Date()).date} relance`);
      expect(readFileSync(join(dir, 'out.csv'), 'latin1')).toContain(`broadcastName:Noël ${parisTime(new Date()).date} relance`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
