/**
 * Issue #19, the first week of real use: what the daemon sends is what the
 * user meant. Per-export command files under both names the docs give, the
 * ones that belong to no export, and the ones that come too late.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import parsePrometheus from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { broadcastsWith } from '../helpers/platform-record.js';
import { smsCommand, startSimDaemon, type SimDaemon } from '../helpers/sim-daemon.js';

const repo = new URL('../../', import.meta.url).pathname;

const until = async (what: string, cond: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};
const sidecar = (text: string): string => `messages:\n  - customizableId: 10\n    multimediaType: TXT\n    text: "${text}"\n`;

describe('per-export command files (issue #19.1)', () => {
  let s: SimDaemon;
  let drop: string;
  const events: string[] = [];
  beforeAll(async () => {
    s = await startSimDaemon({
      seed: 'sidecars',
      commands: { 'cmd.yaml': smsCommand('Sidecar {file}') },
      folders: ['{path: drop, command: cmd.yaml}'],
      events: { onEvent: (e) => events.push(JSON.stringify(e)) },
    });
    drop = join(s.root, 'drop');
  });
  afterAll(async () => {
    await s.stop();
  });
  const sentTrigger = (name: string): string => readFileSync(join(drop, 'sent', `${name}.trigger.csv`), 'latin1');

  it('<export>.command.yaml (promo.csv.command.yaml) and <stem>.command.yaml both apply, and follow their export to sent/ under their own names', async () => {
    writeFileSync(join(drop, 'promo.csv.command.yaml'), sidecar('Texte de promo.csv'));
    writeFileSync(join(drop, 'promo.csv'), 'Nom;Mobile;Référence\nA;0612345678;SC-1\n');
    writeFileSync(join(drop, 'stem.command.yaml'), sidecar('Texte de stem'));
    writeFileSync(join(drop, 'stem.csv'), 'Nom;Mobile;Référence\nA;0612345678;SC-2\n');
    await until('both sent', () => existsSync(join(drop, 'sent', 'promo.csv')) && existsSync(join(drop, 'sent', 'stem.csv')));
    expect(sentTrigger('promo.csv')).toContain('text:Texte de promo.csv');
    expect(sentTrigger('stem.csv')).toContain('text:Texte de stem');
    expect(existsSync(join(drop, 'sent', 'promo.csv.command.yaml'))).toBe(true);
    expect(existsSync(join(drop, 'sent', 'stem.command.yaml'))).toBe(true);
    expect(readdirSync(drop).filter((n) => n.includes('command'))).toEqual([]);
  });

  it('two command files for one export fail it, naming both; nothing is sent', async () => {
    writeFileSync(join(drop, 'twice.command.yaml'), sidecar('A'));
    writeFileSync(join(drop, 'twice.csv.command.yaml'), sidecar('B'));
    writeFileSync(join(drop, 'twice.csv'), 'Nom;Mobile;Référence\nA;0612345678;SC-3\n');
    await until('failed and moved', () => existsSync(join(drop, 'failed', 'twice.csv')) && existsSync(join(drop, 'failed', 'twice.csv.error.txt')));
    const error = readFileSync(join(drop, 'failed', 'twice.csv.error.txt'), 'utf8');
    expect(error).toContain('twice.command.yaml, twice.csv.command.yaml');
    expect(existsSync(join(drop, 'failed', 'twice.command.yaml')) && existsSync(join(drop, 'failed', 'twice.csv.command.yaml'))).toBe(true);
    expect(broadcastsWith(join(s.root, 'sim'), 'SC-3')).toBe(0);
  });

  it('an error in a command file names that file and its line', async () => {
    writeFileSync(join(drop, 'broken.command.yaml'), 'messages:\n  - customizableId: 10\n    multimediaType: TXT\n    textt: "x"\n');
    writeFileSync(join(drop, 'broken.csv'), 'Nom;Mobile;Référence\nA;0612345678;SC-4\n');
    await until('failed', () => existsSync(join(drop, 'failed', 'broken.csv.error.txt')));
    expect(readFileSync(join(drop, 'failed', 'broken.csv.error.txt'), 'utf8')).toMatch(/broken\.command\.yaml line 4: .*textt/);
  });

  it('a command file that matches no export is refused within a rescan: error file, failed input in status, failed event', async () => {
    writeFileSync(join(drop, 'promotion.command.yaml'), sidecar('nobody'));
    await until('refused', () => existsSync(join(drop, 'failed', 'promotion.command.yaml.error.txt')), 15_000);
    expect(readFileSync(join(drop, 'failed', 'promotion.command.yaml.error.txt'), 'utf8')).toMatch(
      /applied to nothing.*promo\.csv\.command\.yaml or promo\.command\.yaml/s,
    );
    expect(existsSync(join(drop, 'promotion.command.yaml'))).toBe(false);
    // The error file comes first (a crash after it runs the step again), the journal and the event right after.
    await until('the failed event', () => events.some((e) => e.includes('"failed"') && e.includes('promotion.command.yaml')));
    const row = (await s.daemon.journal.recentInputs(50)).find((r) => r.name === 'promotion.command.yaml');
    expect(row?.state).toBe('failed');
  });

  it('a command file that arrives after its export was taken is refused, saying the export went without it', async () => {
    writeFileSync(join(drop, 'late.csv'), 'Nom;Mobile;Référence\nA;0612345678;SC-5\n');
    await until('sent', () => existsSync(join(drop, 'sent', 'late.csv')));
    writeFileSync(join(drop, 'late.csv.command.yaml'), sidecar('trop tard'));
    await until('refused', () => existsSync(join(drop, 'failed', 'late.csv.command.yaml.error.txt')), 15_000);
    expect(readFileSync(join(drop, 'failed', 'late.csv.command.yaml.error.txt'), 'utf8')).toMatch(/arrived after late\.csv was taken .*NOT applied/);
    expect(sentTrigger('late.csv')).toContain('text:Bonjour');
  });
});

describe('partial acceptance and empty exports (issue #19.2)', () => {
  let s: SimDaemon;
  let root: string;
  const hookLog = (): string[] => (existsSync(join(root, 'hooks.jsonl')) ? readFileSync(join(root, 'hooks.jsonl'), 'utf8').split('\n').filter(Boolean) : []);
  beforeAll(async () => {
    s = await startSimDaemon({
      seed: 'partial',
      commands: { 'cmd.yaml': smsCommand('Partial {file}') },
      sections: ['push: {listen: "127.0.0.1:0", path: /dmc/status}'],
      daemon: (dir) => [`hooks: [{on: [sent, failed], command: "cat >> '${join(dir, 'hooks.jsonl')}'; echo >> '${join(dir, 'hooks.jsonl')}'"}]`],
      folders: [
        '{path: drop/partial, command: cmd.yaml, map: {EXTERNALREFERENCE: Référence}, rejectBadRows: true, maxRejected: 2}',
        '{path: drop/strict, command: cmd.yaml}',
        '{path: drop/quiet, command: cmd.yaml}',
        '{path: drop/loud, command: cmd.yaml, emptyExport: failed}',
      ],
    });
    root = s.root;
  });
  afterAll(async () => {
    await s.stop();
  });

  it('sends the valid rows, writes the bad ones to failed/<export>.rejected.csv in the export own encoding and separator, and counts them everywhere', async () => {
    const dir = join(root, 'drop', 'partial');
    const rows = ['Nom,Mobile,Référence', 'Émile,0612345601,PA-1', 'Bad,abc,PA-2', 'Chloé,0612345603,PA-3'];
    writeFileSync(join(dir, 'crm.csv'), Buffer.from(rows.join('\r\n') + '\r\n', 'latin1'));
    await until('sent', () => existsSync(join(dir, 'sent', 'crm.csv')) && existsSync(join(dir, 'failed', 'crm.csv.rejected.csv')));
    expect(broadcastsWith(join(root, 'sim'), 'PA-1')).toBe(1);
    expect(broadcastsWith(join(root, 'sim'), 'PA-3')).toBe(1);
    expect(broadcastsWith(join(root, 'sim'), 'PA-2')).toBe(0);
    const rejected = readFileSync(join(dir, 'failed', 'crm.csv.rejected.csv'))
      .toString('latin1')
      .split('\r\n');
    expect(rejected[0]).toBe('Nom,Mobile,Référence,dmc_line,dmc_reason');
    expect(rejected[1]).toMatch(/^Bad,abc,PA-2,3,"?PHONENUMBER1 'abc' is not a phone number/);
    const row = (await s.daemon.journal.recentInputs(10)).find((r) => r.name === 'crm.csv')!;
    expect(row.rejected).toBe(1);
    expect(readFileSync(join(dir, 'sent', 'crm.csv.warnings.txt'), 'utf8')).toMatch(/1 row\(s\) left out/);
    await until('the sent hook', () => hookLog().some((l) => l.includes('"sent"') && l.includes('crm.csv')));
    expect(JSON.parse(hookLog().find((l) => l.includes('"sent"') && l.includes('crm.csv'))!)).toMatchObject({ rejected: 1 });
    // The results file marks the rejected row as such, once the statuses are in.
    await until('results', () => existsSync(join(dir, 'results', 'crm.csv.results.csv')), 30_000);
    const results = readFileSync(join(dir, 'results', 'crm.csv.results.csv')).toString('latin1');
    expect(results).toMatch(/Bad,abc,PA-2,rejected,REJECTED,/);
    const { runStatus } = await import('../../src/cli/daemon-command.js');
    const out: string[] = [];
    await runStatus({ config: s.configPath }, { out: (l) => out.push(l), err: () => undefined, isTTY: false });
    expect(out.join('\n')).toMatch(/crm\.csv.*\[1 row\(s\) rejected\]/);
  });

  it('above maxRejected the whole export is refused, and the default still refuses one bad row', async () => {
    const many = ['Nom;Mobile;Référence', 'A;0612345601;PB-1', 'B;x;PB-2', 'C;y;PB-3', 'D;z;PB-4'];
    writeFileSync(join(root, 'drop', 'partial', 'many.csv'), many.join('\n') + '\n');
    writeFileSync(join(root, 'drop', 'strict', 'one.csv'), 'Nom;Mobile;Référence\nA;0612345601;PC-1\nB;abc;PC-2\n');
    await until(
      'both failed',
      () =>
        existsSync(join(root, 'drop', 'partial', 'failed', 'many.csv.error.txt')) && existsSync(join(root, 'drop', 'strict', 'failed', 'one.csv.error.txt')),
    );
    expect(readFileSync(join(root, 'drop', 'partial', 'failed', 'many.csv.error.txt'), 'utf8')).toMatch(/3 of 4 rows have errors, more than the 2 allowed/);
    expect(broadcastsWith(join(root, 'sim'), 'PB-1') + broadcastsWith(join(root, 'sim'), 'PC-1')).toBe(0);
  });

  it('what the daemon changes without refusing (typographic punctuation transliterated) is recorded with the input', async () => {
    // Watching sent/ as a user's script would: the export arrives last, after what goes with it (a race once, in CI).
    const sent = join(root, 'drop', 'strict', 'sent');
    mkdirSync(sent, { recursive: true });
    const arrivals: string[] = [];
    const watcher = watch(sent, (_type, name) => {
      if (name?.startsWith('quote.csv') && existsSync(join(sent, name)) && !arrivals.includes(name)) arrivals.push(name);
    });
    writeFileSync(join(root, 'drop', 'strict', 'quote.csv'), 'Nom;Mobile;Référence\nl’école;0612345601;PQ-1\n');
    await until('sent', () => arrivals.includes('quote.csv'));
    watcher.close();
    expect(arrivals.at(-1)).toBe('quote.csv');
    expect(arrivals).toContain('quote.csv.warnings.txt');
    expect(readFileSync(join(root, 'drop', 'strict', 'sent', 'quote.csv.warnings.txt'), 'utf8')).toMatch(/W_TRANSLITERATED/);
    const row = (await s.daemon.journal.recentInputs(30)).find((r) => r.name === 'quote.csv')!;
    expect(row.warnings).toMatch(/W_TRANSLITERATED/);
  });

  it('a header-only export is settled in sent/ with nothing sent and no failure; emptyExport: failed makes it a failure naming the export', async () => {
    writeFileSync(join(root, 'drop', 'quiet', 'night.csv'), 'Nom;Mobile;Référence\n');
    writeFileSync(join(root, 'drop', 'loud', 'night.csv'), 'Nom;Mobile;Référence\n');
    await until(
      'settled',
      () => existsSync(join(root, 'drop', 'quiet', 'sent', 'night.csv')) && existsSync(join(root, 'drop', 'loud', 'failed', 'night.csv.error.txt')),
    );
    const quiet = (await s.daemon.journal.recentInputs(20)).find((r) => r.folder.endsWith('quiet') && r.name === 'night.csv')!;
    expect(quiet.state).toBe('done');
    expect(await s.daemon.journal.triggersOf(quiet.id)).toEqual([]);
    expect(hookLog().some((l) => l.includes('"failed"') && l.includes('quiet'))).toBe(false);
    const loud = readFileSync(join(root, 'drop', 'loud', 'failed', 'night.csv.error.txt'), 'utf8');
    expect(loud).toMatch(/night\.csv holds a header and no contact/);
    expect(loud).not.toMatch(/cmd\.yaml/);
  });
});

describe('one truth: the console counts each contact once, as the results file does (issue #19.3)', () => {
  let s: SimDaemon;
  beforeAll(async () => {
    s = await startSimDaemon({
      seed: 'one-truth',
      commands: { 'cmd.yaml': smsCommand('Truth {file}') },
      sections: ['push: {listen: "127.0.0.1:0", path: /dmc/status}'],
      daemon: ['http: {listen: "127.0.0.1:0", console: false}'],
      folders: ['{path: drop, command: cmd.yaml, map: {EXTERNALREFERENCE: Référence}}'],
    });
  });
  afterAll(async () => {
    await s.stop();
  });

  it('after the daily report lands on top of the pushed statuses, the broadcast pages and the results file agree', async () => {
    const rows = ['Nom;Mobile;Référence', ...Array.from({ length: 80 }, (_, i) => `N${i};06${String(20000000 + i)};OT-${i}`)];
    writeFileSync(join(s.root, 'drop', 'campaign.csv'), rows.join('\n') + '\n');
    const { ConsoleQueries } = await import('../../src/store/console-queries.js');
    const q = new ConsoleQueries(s.daemon.journal);
    const summary = async (): Promise<{ byStatus: Record<string, number>; rows: number } | undefined> => {
      const r = (await s.daemon.journal.sql.get('SELECT summary FROM results_files')) as { summary: string } | undefined;
      return r ? (JSON.parse(r.summary) as { byStatus: Record<string, number>; rows: number }) : undefined;
    };
    await until('every status pushed and joined', async () => (await summary())?.byStatus['pending'] === 0, 60_000);
    const [b] = (await q.broadcasts(1)).rows;
    expect(b).toBeDefined();
    const pushed = (await q.broadcast(b!.broadcastId)).byStatus;
    expect(pushed).toEqual((await summary())!.byStatus);
    expect(pushed.failed).toBeGreaterThan(0);
    // The daily report arrives: its lines name the same contacts, some with labels that fit several media.
    await s.sim.report();
    await s.daemon.collectReports();
    await until(
      'the results rewritten after the report',
      async () => ((await s.daemon.journal.sql.get('SELECT COUNT(*) n FROM results_due')) as { n: number }).n === 0,
    );
    const after = await q.broadcast(b!.broadcastId);
    expect(after.byStatus).toEqual((await summary())!.byStatus);
    expect(after.byStatus).toEqual(pushed);
    expect((await q.broadcasts(1)).rows[0]!.byStatus).toEqual(pushed);
    expect(after.byStatus.delivered + after.byStatus.failed + after.byStatus.pending).toBe(80);
    // One row per contact and medium: no medium-less twin of a pushed contact.
    expect(Object.keys(after.byMedium)).toEqual(['sms']);
    // `results --json`, as a user runs it beside the daemon.
    const cli = spawnSync(process.execPath, [join(repo, 'dist', 'cli', 'main.js'), 'results', 'campaign.csv', '--config', s.configPath, '--json'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(cli.status, cli.stderr).toBe(0);
    expect((JSON.parse(cli.stdout) as { byStatus: Record<string, number> }).byStatus).toEqual(after.byStatus);
    // /metrics counts every broadcast of the journal: it equals the console's rows summed, read while nothing changed.
    const consoleTotals = async (): Promise<Record<string, number>> => {
      const t: Record<string, number> = { delivered: 0, failed: 0, pending: 0 };
      for (const r of (await q.broadcasts(1)).rows) for (const [k, n] of Object.entries(r.byStatus)) t[k]! += n;
      return t;
    };
    const metricTotals = async (): Promise<Record<string, number>> => {
      const families = parsePrometheus(await (await fetch(`${s.daemon.opsOrigin!}/metrics`)).text());
      const f = families.find((x) => x.name === 'dmc_contacts');
      return Object.fromEntries((f?.metrics ?? []).map((m) => [m.labels!['status']!, Number(m.value)]));
    };
    let agreed: Record<string, number> | undefined;
    await until('a quiet moment to read both', async () => {
      const before = await consoleTotals();
      const metrics = await metricTotals();
      const after2 = await consoleTotals();
      if (JSON.stringify(before) !== JSON.stringify(after2)) return false;
      expect(metrics).toEqual(before);
      agreed = metrics;
      return true;
    });
    expect(agreed!.failed).toBeGreaterThanOrEqual(after.byStatus.failed);
  });
});

describe('housekeeping a new user notices (issue #19.6)', () => {
  it('a temporary file a killed build left in work/ is removed at start; a failed pass says the same thing in events as in the log', async () => {
    const { Daemon } = await import('../../src/daemon/daemon.js');
    const { silentLogger } = await import('../../src/transport/logger.js');
    const s = await startSimDaemon({ seed: 'housekeeping', commands: { 'cmd.yaml': smsCommand('H {file}') }, folders: ['{path: drop, command: cmd.yaml}'] });
    try {
      await s.daemon.stop();
      const work = join(s.root, 'drop', 'work');
      const pid = process.pid === 22590 ? 22591 : 22590;
      const leftover = `.000012-export-tableur.xlsx.trigger.csv.${pid}.a7d0fd6d.tmp`;
      writeFileSync(join(work, leftover), 'half a trigger');
      writeFileSync(join(work, 'keep.me'), 'not a temporary file');
      await s.sim.stop();
      const events: { type: string; detail?: string }[] = [];
      const d = new Daemon(s.config, silentLogger, { onEvent: (e) => events.push(e) });
      await d.start();
      try {
        expect(readdirSync(work).sort()).toEqual(['keep.me']);
        // The account is down (the simulator stopped): the pass fails, and the event line says how often and when next.
        writeFileSync(join(s.root, 'drop', 'down.csv'), 'Nom;Mobile\nA;0612345678\n');
        await until('a failed pass', () => events.some((e) => e.type === 'retry'));
        expect(events.find((e) => e.type === 'retry')!.detail).toMatch(/^pass failed \(1 in a row\): .+; next pass in \d+ s at most$/);
      } finally {
        await d.stop();
      }
    } finally {
      rmSync(s.root, { recursive: true, force: true });
    }
  });
});
