/**
 * The simulator against the guide (issue #10): documents go through
 * in/processing/ and in/processed/ (lines 9026-9028); a nightly report holds
 * the broadcasts that ended the day before and no call date after its own
 * date (line 9882); mail is read at the platform's pass (line 9934); a text
 * MMS and a WAV MMS are MMS (lines 9097, 10057, 10181-10201).
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { afterAll, describe, expect, it } from 'vitest';
import { createAccountLayout, processAccount, writeReport, type PlatformEvent, type PlatformOptions } from '../../src/simulator/platform.js';
import { mediaOf } from '../../src/simulator/results.js';
import { Simulator } from '../../src/simulator/simulator.js';

const repo = new URL('../../', import.meta.url).pathname;
const account = { serviceId: '12345678', username: 'dmc', password: 'pw' };
const roots: string[] = [];
/** A report's records (ISO-8859-15, `;`, a header line). */
const readCraFile = async (path: string): Promise<{ records: { broadcastId: string; callDate: string }[] }> => ({
  records: readFileSync(path, 'latin1')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => {
      const f = l.split(';');
      return { broadcastId: f[0]!, callDate: f[7]! };
    }),
});
const fresh = (): string => {
  const r = mkdtempSync(join(tmpdir(), 'dmc-simfid-'));
  roots.push(r);
  return r;
};
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** A platform at a fixed time (Paris = UTC+1 in January). */
function platformAt(root: string, at: { iso: string }, extra: Partial<PlatformOptions> = {}): { opts: PlatformOptions; events: PlatformEvent[] } {
  const events: PlatformEvent[] = [];
  return {
    events,
    opts: { root, seed: 'fidelity', archiveAfter: 3600, retentionDays: 30, emit: (e) => events.push(e), now: () => new Date(at.iso), ...extra },
  };
}

describe('the simulator follows the guide (issue #10)', () => {
  it('a document goes through in/processing/ to in/processed/ like every file with a known extension (lines 9026-9028)', async () => {
    const root = fresh();
    const p = await createAccountLayout(root, account);
    // Real time: the archive step compares the files' own mtimes with the clock.
    const clock = { iso: new Date().toISOString() };
    const { opts, events } = platformAt(root, clock);
    copyFileSync(join(repo, 'samples/documents/TESTFAX.pdf'), join(p.dmc, 'in', 'TESTFAX.pdf'));
    copyFileSync(join(repo, 'samples/fax-pdf.csv'), join(p.dmc, 'in', 'fax.csv'));
    await processAccount(account, opts);
    expect(existsSync(join(p.dmc, 'in', 'TESTFAX.pdf'))).toBe(false);
    expect(existsSync(join(p.dmc, 'in', 'processed', 'TESTFAX.pdf'))).toBe(true);
    // The trigger that names it is processed in the same pass: the platform kept the document.
    expect(existsSync(join(p.dmc, 'in', 'processed', 'fax.csv'))).toBe(true);
    expect(events.map((e) => e.type)).toEqual(['document-taken', 'taken', 'processed']);
    // Then archived with the triggers.
    clock.iso = new Date(Date.now() + 3601_000).toISOString();
    await processAccount(account, opts);
    expect(readdirSync(join(p.dmc, 'in', 'processed'))).toEqual([]);
    expect(
      events
        .filter((e) => e.type === 'archived')
        .map((e) => (e as { name: string }).name)
        .sort(),
    ).toEqual(['TESTFAX.pdf', 'fax.csv']);
  });

  it('the nightly report holds the broadcasts ended the day before, never a call after its date (line 9882)', async () => {
    const root = fresh();
    const p = await createAccountLayout(root, account);
    const clock = { iso: '2027-01-15T09:00:00Z' };
    const { opts } = platformAt(root, clock);
    // One broadcast at 10:00 Paris (ends before 11:00), one at 23:30 Paris (its calls run past midnight).
    copyFileSync(join(repo, 'samples/sms.csv'), join(p.dmc, 'in', 'morning.csv'));
    await processAccount(account, opts);
    clock.iso = '2027-01-15T22:30:00Z';
    copyFileSync(join(repo, 'samples/sms.csv'), join(p.dmc, 'in', 'late.csv'));
    await processAccount(account, opts);
    const pending = readFileSync(join(p.state, 'pending.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { broadcastId: number; callAt: number });
    const late = pending.filter((r) => r.broadcastId === 1001);
    expect(
      late.some((r) => r.callAt >= Date.parse('2027-01-15T23:00:00Z')),
      'the late broadcast ends after midnight Paris',
    ).toBe(true);

    // Same day, 23:50 Paris: nothing has ended the day before.
    clock.iso = '2027-01-15T22:50:00Z';
    expect(await writeReport(account, opts)).toBeUndefined();
    // Next night, 02:00 Paris: the morning broadcast only.
    clock.iso = '2027-01-16T01:00:00Z';
    const first = await writeReport(account, opts);
    expect(first).toBe('CRA_12345678_2027-01-16.csv');
    const report = await readCraFile(join(p.dmc, 'out', first!));
    expect(new Set(report.records.map((r) => r.broadcastId))).toEqual(new Set(['1000']));
    for (const r of report.records) expect(r.callDate < '2027/01/16').toBe(true);
    // The night after: the late one, every call before that report's date.
    await import('node:fs/promises').then((fs) => fs.rm(join(p.dmc, 'out', first!)));
    clock.iso = '2027-01-17T01:00:00Z';
    const second = await writeReport(account, opts);
    const next = await readCraFile(join(p.dmc, 'out', second!));
    expect(new Set(next.records.map((r) => r.broadcastId))).toEqual(new Set(['1001']));
    expect(next.records).toHaveLength(late.length);
    for (const r of next.records) expect(r.callDate < '2027/01/17').toBe(true);
    expect(readFileSync(join(p.state, 'pending.jsonl'), 'utf8')).toBe('');
  });

  it('with a short report period, a report holds what has ended by its time', async () => {
    const root = fresh();
    const p = await createAccountLayout(root, account);
    const clock = { iso: '2027-01-15T09:00:00Z' };
    const { opts } = platformAt(root, clock, { reportScope: 'ended', callSpread: 60 });
    copyFileSync(join(repo, 'samples/sms.csv'), join(p.dmc, 'in', 'a.csv'));
    await processAccount(account, opts);
    clock.iso = '2027-01-15T09:00:30Z';
    const pending = readFileSync(join(p.state, 'pending.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { callAt: number });
    const end = Math.max(...pending.map((r) => r.callAt));
    if (end > Date.parse(clock.iso)) expect(await writeReport(account, opts)).toBeUndefined();
    clock.iso = '2027-01-15T09:01:00Z';
    const name = await writeReport(account, opts);
    const report = await readCraFile(join(p.dmc, 'out', name!));
    expect(report.records).toHaveLength(pending.length);
    for (const r of report.records) expect(r.callDate <= '2027/01/15 10:01:00').toBe(true);
  });

  it('a text MMS and a WAV MMS are MMS; a scenario can say its medium (lines 9097, 10057, 10181-10201)', () => {
    const base = { serviceId: '1', spaceId: '1', broadcastName: 'x', scenarioId: '44' };
    expect(mediaOf({ ...base, messages: [{ multimediaType: 'TXT', text: 'Diffusion déclenchée par mail.', messageSubject: 'Test MMS2' }] })).toEqual(['mms']);
    expect(mediaOf({ ...base, messages: [{ multimediaType: 'TXT', text: 'SMS' }] })).toEqual(['sms']);
    expect(mediaOf({ ...base, messages: [{ multimediaType: 'WAV', fileName: 'a.wav' }] })).toEqual(['voice']);
    expect(mediaOf({ ...base, messages: [{ multimediaType: 'WAV', fileName: 'a.wav', messageSubject: 'Son' }] })).toEqual(['mms']);
    expect(mediaOf({ ...base, messages: [{ multimediaType: 'WAV', fileName: 'a.wav' }] }, { 44: 'mms' })).toEqual(['mms']);
    expect(mediaOf({ ...base, messages: [{ multimediaType: 'TXT', text: 't' }] }, { 45: 'voice' })).toEqual(['sms']);
  });

  it("mail is read at the platform's pass, and an accepted mail survives a restart (line 9934)", async () => {
    const root = fresh();
    const accounts = [{ ...account, spaceId: '123', allowedSenders: ['client1.fr'] }];
    const mail = { smtpPort: 0, imapPort: 0, mailboxes: [{ address: 'ops@client1.fr', password: 'x' }] };
    // A pass every hour: nothing happens between passes unless tick() runs one.
    const sim = new Simulator({ root, accounts, interval: 3600, seed: 'mailpass', autoReports: false, mail });
    await sim.start();
    const body = [
      'serviceId:12345678',
      'spaceId:123',
      'broadcastName:Pass',
      'scenarioId:40',
      'callPlanningId:41',
      'customizableId:10',
      'multimediaType:TXT',
      'text:Bonjour',
      '',
      'NAME;PHONENUMBER1',
      'Dupont;0612345678',
    ].join('\r\n');
    const smtp = nodemailer.createTransport({ host: '127.0.0.1', port: sim.mail!.smtpPort, secure: false, ignoreTLS: true });
    await smtp.sendMail({ from: 'ops@client1.fr', to: 'dmc_admin@dmc.sfr-sh.fr', subject: 'pass', text: body });
    smtp.close();
    // Accepted (the SMTP reply came back): kept, not yet handled.
    expect(readdirSync(join(root, 'mail-queue')).filter((n) => n.endsWith('.eml'))).toHaveLength(1);
    expect(sim.journal.some((e) => e.source === 'platform' && e.type === 'mail-broadcast')).toBe(false);
    await sim.stop();
    const again = new Simulator({ root, accounts, interval: 3600, seed: 'mailpass', autoReports: false, mail });
    await again.start();
    try {
      await again.tick();
      expect(again.journal.find((e) => e.source === 'platform' && e.type === 'mail-broadcast')).toMatchObject({ contacts: 1 });
      expect(readdirSync(join(root, 'mail-queue')).filter((n) => n.endsWith('.eml'))).toEqual([]);
    } finally {
      await again.stop();
    }
  });

  it('the simulator command applies its configuration file (archiveAfter, scenarioMedia were read, then dropped) and writes a portable client config', async () => {
    const root = fresh();
    const cfg = join(root, 'sim.yaml');
    writeFileSync(
      cfg,
      'accounts: [{serviceId: "12345678", username: dmc, password: pw, spaceId: "123", allowedSenders: [client1.fr]}]\nmailboxes: [{address: ops@client1.fr, password: pw}]\narchiveAfter: 0.3\nscenarioMedia: {"40": voice}\n',
    );
    const child = spawn(
      process.execPath,
      [
        join(repo, 'dist/cli/main.js'),
        'simulator',
        '--config',
        cfg,
        '--root',
        join(root, 'sim'),
        '--sftp-port',
        '0',
        '--ftp-port',
        '0',
        '--smtp-port',
        '0',
        '--imap-port',
        '0',
        '--interval',
        '0.2',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      out += b.toString();
    });
    const until = async (what: string, cond: () => boolean): Promise<void> => {
      const end = Date.now() + 20_000;
      while (!(await cond())) {
        if (Date.now() > end || child.exitCode !== null) throw new Error(`timed out waiting for ${what}:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    try {
      await until('the client config', () => /client config (\S+)/.test(out));
      const client = readFileSync(/client config (\S+)/.exec(out)![1]!, 'utf8');
      // Both password files absolute: the config works from any folder it is copied to.
      for (const m of client.matchAll(/passwordFile: "([^"]+)"/g)) expect(m[1]!.startsWith('/')).toBe(true);
      expect([...client.matchAll(/passwordFile:/g)]).toHaveLength(2);
      copyFileSync(join(repo, 'samples/sms.csv'), join(root, 'sim', 'accounts', 'dmc', 'home', 'DMC_12345678', 'in', 'a.csv'));
      await until('archived after 0.3 s', () => /a\.csv archived from processed/.test(out));
      await until('the results written', () => existsSync(join(root, 'sim', 'accounts', 'dmc', 'state', 'pending.jsonl')));
      const results = readFileSync(join(root, 'sim', 'accounts', 'dmc', 'state', 'pending.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { code: string });
      // Scenario 40 said to be voice: every result is a voice result.
      expect(results.every((r) => r.code.startsWith('CRA_VOCAL_'))).toBe(true);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });
});
