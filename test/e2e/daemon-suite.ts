/**
 * The daemon's suite on the simulator, written once and run on both journals
 * (issue #20): daemon.test.ts on SQLite, daemon-pg.test.ts on PostgreSQL (two
 * files, so that the two runs take the two test workers side by side).
 */
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type ResolvedConfig } from '../../src/config/config.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { silentLogger } from '../../src/transport/logger.js';
import { Simulator } from '../../src/simulator/simulator.js';
import { rng } from '../helpers/random.js';
import { freshSchema } from '../helpers/pg-env.js';

const repo = new URL('../../', import.meta.url).pathname;
const bin = join(repo, 'dist/cli/main.js');
const until = async (what: string, cond: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};
/** An export whose content is unique to `tag` (its contacts carry the tag). */
const exportText = (tag: string, n = 3): string =>
  ['Nom;Mobile;Référence', ...Array.from({ length: n }, (_, i) => `Nom${i};06${String(10000000 + i).slice(0, 8)};${tag}-${i}`)].join('\n') + '\n';

/** The suite, on SQLite or on the PostgreSQL cluster at `pgUrl`. */
export function daemonSuite(backend: 'sqlite' | 'postgresql', pgUrl?: string): void {
  const PG = pgUrl;
  describe(`the daemon, on the simulator (journal on ${backend})`, () => {
    let root: string;
    /** PostgreSQL: one schema per journal path of the suite (each variant has a journal of its own). */
    const schemas = new Map<string, string>();
    const journalLines = (journal: string): string[] => {
      if (backend === 'sqlite') return [`  journal: ${journal}`];
      if (!schemas.has(journal)) schemas.set(journal, freshSchema(`daemon_${journal.split('-')[0]!.split('/')[0]!}`));
      return [`  journal: "${PG!}"`, `  store: {schema: ${schemas.get(journal)!}}`];
    };
    let sim: Simulator;
    let drop: string;
    beforeAll(async () => {
      root = mkdtempSync(join(tmpdir(), 'dmc-daemon-'));
      sim = new Simulator({
        root: join(root, 'sim'),
        accounts: [{ serviceId: '12345678', username: 'dmc', password: 'pw' }],
        sftpPort: 0,
        interval: 0.3,
        seed: 'daemon',
        autoReports: false,
      });
      await sim.start();
      drop = join(root, 'drop');
      mkdirSync(drop, { recursive: true });
      writeFileSync(
        join(root, 'cmd.yaml'),
        'serviceId: "12345678"\nspaceId: 1\nbroadcastName: "Relance {file} {date}"\nscenarioId: 40\ncallPlanningId: 41\nmessages:\n  - customizableId: 10\n    multimediaType: TXT\n    text: Bonjour\n',
      );
      writeFileSync(join(root, 'dmc.yaml'), configText('state/journal.db', '    - {path: drop, command: cmd.yaml}'));
    });
    afterAll(async () => {
      await sim.stop();
      rmSync(root, { recursive: true, force: true });
      if (schemas.size) {
        const pg = await import('pg');
        const c = new pg.default.Client({ connectionString: PG! });
        await c.connect();
        for (const schema of schemas.values()) await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await c.end();
      }
    });

    /** How many times the simulator processed a trigger holding `tag`'s contacts. */
    const processedWith = (tag: string): number => {
      const dir = join(sim.homeOf('dmc'), 'DMC_12345678', 'in', 'processed');
      const archived = join(root, 'sim', 'accounts', 'dmc', 'archive');
      const files = [
        ...(existsSync(dir) ? readdirSync(dir).map((f) => join(dir, f)) : []),
        ...(existsSync(archived) ? readdirSync(archived).map((f) => join(archived, f)) : []),
      ];
      return files.filter((f) => readFileSync(f, 'latin1').includes(`;${tag}-0`)).length;
    };
    const config = async (): Promise<ResolvedConfig> => parseConfig(readFileSync(join(root, 'dmc.yaml'), 'utf8'), join(root, 'dmc.yaml'));
    /** The configuration text: its own journal, drop folders (YAML list items), extra daemon keys. */
    function configText(journal: string, folders: string, extra: string[] = [], stableSeconds = 0.4): string {
      return [
        'service: {serviceId: "12345678"}',
        `transport: {protocol: sftp, host: 127.0.0.1, port: ${sim.sftp!.port}, username: dmc, password: pw, hostKey: "${sim.fingerprint}"}`,
        'timeouts: {connect: 5, documentsTaken: 10, outcome: 20, poll: 0.1}',
        'retries: {attempts: 3, minDelay: 0.05, maxDelay: 0.2}',
        'reports: {dir: reports}',
        'daemon:',
        ...journalLines(journal),
        `  stableSeconds: ${stableSeconds}`,
        '  rescanSeconds: 1',
        ...extra.map((l) => `  ${l}`),
        '  dropFolders:',
        folders,
      ].join('\n');
    }
    /** A daemon with its own journal and config file `<name>.yaml` (folders relative to the test root). */
    async function variant(
      name: string,
      folders: string,
      extra: string[] = [],
      stableSeconds?: number,
    ): Promise<{ path: string; daemon: () => Promise<Daemon> }> {
      const path = join(root, `${name}.yaml`);
      writeFileSync(path, configText(`${name}-state/journal.db`, folders, extra, stableSeconds));
      return { path, daemon: async () => new Daemon(await parseConfig(readFileSync(path, 'utf8'), path), silentLogger) };
    }

    it('sends each of 100 exports dropped at once exactly once, and 20 more dropped while it runs; outcomes recorded; files to sent/', async () => {
      const daemon = new Daemon(await config(), silentLogger);
      await daemon.start();
      try {
        // 100 exports at once, then 20 more while uploads are running (at most 5 triggers a second).
        for (let i = 0; i < 100; i++) writeFileSync(join(drop, `burst-${i}.csv`), exportText(`B${i}`));
        await until('a first send', () => processedWith('B0') + processedWith('B1') > 0);
        for (let i = 0; i < 20; i++) writeFileSync(join(drop, `late-${i}.csv`), exportText(`L${i}`));
        await until('120 inputs done', async () => ((await daemon.journal.summary()).inputs['done'] ?? 0) === 120, 120_000);
        // Done is journaled before the files move to sent/ (settled after): wait for the move too.
        await until('120 inputs settled', async () => (await daemon.journal.inputsIn('done')).length === 0, 30_000);
        for (let i = 0; i < 100; i++) expect(processedWith(`B${i}`), `B${i}`).toBe(1);
        for (let i = 0; i < 20; i++) expect(processedWith(`L${i}`), `L${i}`).toBe(1);
        expect(readdirSync(join(drop, 'sent')).filter((f) => /^(burst|late)-\d+\.csv$/.test(f))).toHaveLength(120);
        expect(readdirSync(join(drop, 'sent')).filter((f) => f.endsWith('.trigger.csv'))).toHaveLength(120);
        expect((await daemon.journal.summary()).triggers).toEqual({ processed: 120 });
        const names = readdirSync(join(sim.homeOf('dmc'), 'DMC_12345678', 'in', 'processed'));
        expect(readFileSync(join(sim.homeOf('dmc'), 'DMC_12345678', 'in', 'processed', names[0]!), 'latin1')).toMatch(
          /broadcastName:Relance (burst|late)-\d+ \d{4}-\d{2}-\d{2}/,
        );
      } finally {
        await daemon.stop();
      }
    }, 180_000);

    it('does not send the same content twice; bad exports end in failed/ with an explanation and the daemon goes on', async () => {
      const daemon = new Daemon(await config(), silentLogger);
      await daemon.start();
      try {
        writeFileSync(join(drop, 'again.csv'), exportText('B3'));
        writeFileSync(join(drop, 'empty.csv'), '');
        writeFileSync(join(drop, 'garbage.csv'), Buffer.from([0x50, 0x4b, 3, 4, 0, 0, 0xff, 0]));
        writeFileSync(join(drop, 'nophone.csv'), 'Nom;Ville\nDupont;Lyon\n');
        writeFileSync(join(drop, 'good.csv'), exportText('G1'));
        await until('good sent', () => existsSync(join(drop, 'sent', 'good.csv')));
        await until('failures settled', () => ['again.csv', 'empty.csv', 'garbage.csv', 'nophone.csv'].every((f) => existsSync(join(drop, 'failed', f))));
        expect(processedWith('B3')).toBe(1);
        expect(readFileSync(join(drop, 'failed', 'again.csv.error.txt'), 'utf8')).toMatch(/same content as burst-3\.csv.*not sent twice.*allowDuplicates/);
        expect(readFileSync(join(drop, 'failed', 'empty.csv.error.txt'), 'utf8')).toMatch(/empty/);
        expect(readFileSync(join(drop, 'failed', 'garbage.csv.error.txt'), 'utf8')).toMatch(/binary file/);
        expect(readFileSync(join(drop, 'failed', 'nophone.csv.error.txt'), 'utf8')).toMatch(/no column of the export is a phone number.*--map/);
      } finally {
        await daemon.stop();
      }
    });

    it('100,001 contacts: failed without splitting, split and every part sent once with it; a trigger file in the wrong encoding fails', async () => {
      const splitDrop = join(root, 'split-drop');
      mkdirSync(splitDrop, { recursive: true });
      const daemon = await (
        await variant('split', ['    - {path: drop, command: cmd.yaml}', '    - {path: split-drop, command: cmd.yaml, split: 50000}'].join('\n'))
      ).daemon();
      await daemon.start();
      try {
        const big = ['Nom;Mobile;Référence', ...Array.from({ length: 100_001 }, (_, i) => `N${i};06${String(i).padStart(8, '0')};BIG-${i}`)].join('\n') + '\n';
        writeFileSync(join(drop, 'big.csv'), big);
        writeFileSync(join(splitDrop, 'big.csv'), big);
        // A trigger file declaring UTF8 whose bytes are Latin-1.
        const trig = readFileSync(join(repo, 'samples/sms.csv'), 'latin1')
          .replace('#COMMAND\nencoding:ISO8859-15', '#COMMAND\nencoding:UTF8')
          .replace('Dupont', 'Dupont\u00e9');
        writeFileSync(join(drop, 'wrong-encoding.csv'), Buffer.from(trig, 'latin1'));
        await until('big failed', () => existsSync(join(drop, 'failed', 'big.csv.error.txt')), 60_000);
        expect(readFileSync(join(drop, 'failed', 'big.csv.error.txt'), 'utf8')).toMatch(/E_TOO_MANY_CONTACTS.*split/);
        await until('wrong encoding failed', () => existsSync(join(drop, 'failed', 'wrong-encoding.csv.error.txt')));
        expect(readFileSync(join(drop, 'failed', 'wrong-encoding.csv.error.txt'), 'utf8')).toMatch(/E_DECODE/);
        await until('split sent', () => existsSync(join(splitDrop, 'sent', 'big.csv')), 90_000);
        expect(
          readdirSync(join(splitDrop, 'sent'))
            .filter((f) => f.includes('.trigger-'))
            .sort(),
        ).toEqual(['big.csv.trigger-001.csv', 'big.csv.trigger-002.csv', 'big.csv.trigger-003.csv']);
        expect(processedWith('BIG')).toBe(1);
        const parts = (await daemon.journal.recentInputs(500)).find((r) => r.folder.endsWith('split-drop'))!;
        expect((await daemon.journal.triggersOf(parts.id)).map((t) => [t.contacts, t.state])).toEqual([
          [50000, 'processed'],
          [50000, 'processed'],
          [1, 'processed'],
        ]);
      } finally {
        await daemon.stop();
      }
    }, 180_000);

    it('a trigger dropped with its document: the document goes first under its own name, then both to sent/', async () => {
      const daemon = new Daemon(await config(), silentLogger);
      await daemon.start();
      try {
        const start = sim.journal.length;
        writeFileSync(join(drop, 'TESTFAX.pdf'), readFileSync(join(repo, 'samples/documents/TESTFAX.pdf')));
        writeFileSync(join(drop, 'fax.csv'), readFileSync(join(repo, 'samples/fax-pdf.csv')));
        await until('fax sent', () => existsSync(join(drop, 'sent', 'fax.csv')) && existsSync(join(drop, 'sent', 'TESTFAX.pdf')), 60_000);
        const seen = sim.journal.slice(start);
        const docTaken = seen.findIndex((e) => e.source === 'platform' && e.type === 'document-taken' && e.name === 'TESTFAX.pdf');
        const trigWrite = seen.findIndex((e) => e.source === 'server' && e.op === 'open-write' && e.path.includes('/fax_'));
        expect(docTaken).toBeGreaterThanOrEqual(0);
        expect(trigWrite).toBeGreaterThan(docTaken);
        await until('fax processed', () =>
          sim.journal.some((e) => e.source === 'platform' && e.type === 'processed' && (e as { name: string }).name.startsWith('fax_')),
        );
      } finally {
        await daemon.stop();
      }
    });

    it('does not take a file written slowly (over 10 s) before it is complete', async () => {
      // The stability window (2 s here) must exceed the writer's pauses (0.5 s): 20 rows over 10 s.
      const slowDrop = join(root, 'slow-drop');
      mkdirSync(slowDrop, { recursive: true });
      const daemon = await (await variant('slow', '    - {path: slow-drop, command: cmd.yaml}', [], 2)).daemon();
      await daemon.start();
      try {
        const p = join(slowDrop, 'slow.csv');
        writeFileSync(p, 'Nom;Mobile;Référence\n');
        for (let i = 0; i < 20; i++) {
          await new Promise((r) => setTimeout(r, 500));
          appendFileSync(p, `Nom${i};06000000${String(i).padStart(2, '0')};S1-${i}\n`);
        }
        // The export and its trigger copy are moved one after the other: wait for both.
        await until('slow sent', () => existsSync(join(slowDrop, 'sent', 'slow.csv')) && existsSync(join(slowDrop, 'sent', 'slow.csv.trigger.csv')));
        const trig = readFileSync(join(slowDrop, 'sent', 'slow.csv.trigger.csv'), 'latin1');
        expect(trig.split('\n').filter((l) => l.includes(';S1-'))).toHaveLength(20);
        expect(processedWith('S1')).toBe(1);
      } finally {
        await daemon.stop();
      }
    });

    it('collects reports at start and acks them; not again after a restart', async () => {
      await sim.report();
      const out = join(sim.homeOf('dmc'), 'DMC_12345678', 'out');
      const report = readdirSync(out).find((f) => f.startsWith('CRA_'))!;
      expect(report).toBeDefined();
      const d1 = new Daemon(await config(), silentLogger);
      await d1.start();
      try {
        await until('report acked', async () => (await d1.journal.report(report))?.state === 'acked');
        // Each trigger now knows its broadcast, from the report's lines (via the contacts' references).
        const byName = new Map(
          sim.journal
            .filter((e) => e.source === 'platform' && e.type === 'processed')
            .map((e) => [(e as { name: string }).name, String((e as { broadcastId: number }).broadcastId)]),
        );
        const burst0 = (await d1.journal.recentInputs(500)).find((r) => r.name === 'burst-0.csv' && r.state === 'done')!;
        const [t] = await d1.journal.triggersOf(burst0.id);
        expect(t!.broadcast_id).toBe(byName.get(t!.remote_name));
      } finally {
        await d1.stop();
      }
      expect(readdirSync(join(root, 'reports'))).toContain(report);
      await sim.tick();
      expect(readdirSync(out).filter((f) => f.startsWith('CRA_'))).toEqual([]);
      const d2 = new Daemon(await config(), silentLogger);
      await d2.start();
      // Two passes: the start-up collection had its turn.
      await until('two passes', () => d2.passes >= 2);
      await d2.stop();
      expect(
        readdirSync(join(root, 'reports')).filter((f) => f.startsWith('CRA_')),
        JSON.stringify(readdirSync(join(root, 'reports'))),
      ).toEqual([report]);
    });

    it('a network cut in the middle of a batch: retries with backoff, then completes everything, each sent once', async () => {
      const retries: string[] = [];
      const daemon = new Daemon(await config(), silentLogger, {
        onEvent: (e) => {
          if (e.type === 'retry') retries.push(e.detail ?? '');
        },
      });
      await daemon.start();
      try {
        for (let i = 0; i < 15; i++) writeFileSync(join(drop, `cut-${i}.csv`), exportText(`N${i}`));
        await until('the first of the batch sent', () => processedWith('N0') + processedWith('N1') + processedWith('N2') > 0);
        await sim.stopServers();
        await until('the daemon to notice', () => retries.length > 0, 30_000);
        await new Promise((r) => setTimeout(r, 15_000));
        await sim.startServers();
        // After the cut the next try can be up to a minute away (the backoff's cap), then the work itself.
        const back = Date.now();
        await until('all 15 done', () => Array.from({ length: 15 }, (_, i) => existsSync(join(drop, 'sent', `cut-${i}.csv`))).every(Boolean), 200_000).catch(
          async (e: Error) => {
            throw new Error(
              `${e.message} ${Math.round((Date.now() - back) / 1000)} s after the servers returned; journal ${JSON.stringify(await daemon.journal.summary())}; last retries ${JSON.stringify(retries.slice(-3))}`,
            );
          },
        );
        for (let i = 0; i < 15; i++) expect(processedWith(`N${i}`), `N${i}`).toBe(1);
        expect(retries.length).toBeGreaterThan(0);
      } finally {
        await daemon.stop();
      }
    }, 300_000);

    it('runs hooks: a command with the event on stdin, a webhook retried after an error', async () => {
      const { createServer } = await import('node:http');
      const posts: { event: string }[] = [];
      let first = true;
      const server = createServer((req, res) => {
        let body = '';
        req.on('data', (c) => {
          body += c;
        });
        req.on('end', () => {
          if (first) {
            first = false;
            res.writeHead(500).end();
            return;
          }
          posts.push(JSON.parse(body) as { event: string });
          res.writeHead(204).end();
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      const port = (server.address() as { port: number }).port;
      const hookDrop = join(root, 'hook-drop');
      mkdirSync(hookDrop, { recursive: true });
      const log = join(root, 'hooks.log');
      const daemon = await (
        await variant('hook', '    - {path: hook-drop, command: cmd.yaml}', [
          'hooks:',
          `  - {on: [sent, processed, failed], command: "cat >> ${log}; echo >> ${log}"}`,
          `  - {on: [processed, failed], url: "http://127.0.0.1:${port}/dmc"}`,
        ])
      ).daemon();
      await daemon.start();
      try {
        writeFileSync(join(hookDrop, 'ok.csv'), exportText('H1'));
        writeFileSync(join(hookDrop, 'bad.csv'), 'Nom;Ville\nDupont;Lyon\n');
        await until('hooks delivered', () => posts.length >= 2, 30_000);
      } finally {
        await daemon.stop();
        server.close();
      }
      const events = readFileSync(log, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { event: string; account: string; input: { name: string }; triggers: { remoteName: string }[]; detail?: string });
      expect(events.map((e) => `${e.event}:${e.input.name}`).sort()).toEqual(['failed:bad.csv', 'processed:ok.csv', 'sent:ok.csv']);
      // Each event names its DMC account (the service id): one receiver can serve several daemons.
      expect(events.map((e) => e.account)).toEqual(['12345678', '12345678', '12345678']);
      expect(posts.map((p) => (p as { account?: string }).account)).toEqual(['12345678', '12345678']);
      expect(events.find((e) => e.event === 'processed')!.triggers[0]!.remoteName).toMatch(/^ok_\d{8}T\d{6}_[0-9a-f]{8}\.csv$/);
      expect(events.find((e) => e.event === 'failed')!.detail).toMatch(/phone number/);
      expect(posts.map((p) => p.event).sort()).toEqual(['failed', 'processed']);
    });

    it('retry puts a failed input back; resend --force sends a processed one again; both refuse what they should', async () => {
      const { runRetry, runResend } = await import('../../src/cli/daemon-command.js');
      const said: string[] = [];
      const io = { out: (l: string) => said.push(l), err: (_l: string) => undefined, isTTY: false };
      const daemon = new Daemon(await config(), silentLogger);
      await daemon.start();
      try {
        const rows = await daemon.journal.recentInputs(200);
        const failed = rows.find((r) => r.name === 'nophone.csv' && r.state === 'failed')!;
        const done = rows.find((r) => r.name === 'burst-0.csv' && r.state === 'done')!;
        const cfg = join(root, 'dmc.yaml');
        await expect(runRetry(String(done.id), { config: cfg }, io)).rejects.toThrow(/is done, not failed/);
        await expect(runResend(String(done.id), { config: cfg }, io)).rejects.toThrow(/add --force/);
        expect(await runRetry(String(failed.id), { config: cfg }, io)).toBe(0);
        expect(await runResend(String(done.id), { config: cfg, force: true }, io)).toBe(0);
        // Each says which account it acted for.
        expect(said).toEqual([
          expect.stringMatching(/put back in .* \(account 12345678\)$/),
          expect.stringMatching(/marked to be sent again \(account 12345678\)$/),
        ]);
        await until('burst-0 sent twice', () => processedWith('B0') === 2);
        await until('nophone taken again', async () => (await daemon.journal.recentInputs(200)).filter((r) => r.name === 'nophone.csv').length === 2);
        expect((await daemon.journal.input(failed.id))!.state).toBe('retried');
        // Taken as a new input, not refused as a duplicate of the one retried (it fails again: it still has no phone number).
        await until('the retried nophone.csv built again', async () =>
          (await daemon.journal.recentInputs(200)).some((r) => r.name === 'nophone.csv' && r.id !== failed.id && r.state !== 'seen' && r.state !== 'working'),
        );
        expect((await daemon.journal.recentInputs(200)).find((r) => r.name === 'nophone.csv' && r.id !== failed.id)!.state).toBe('failed');
      } finally {
        await daemon.stop();
      }
    });

    it('groups small exports into one broadcast; soak: 2,000 exports in two waves, each contact sent once, memory flat', async () => {
      const gDrop = join(root, 'group-drop');
      mkdirSync(gDrop, { recursive: true });
      const daemon = await (await variant('group', '    - {path: group-drop, command: cmd.yaml, group: {windowSeconds: 1, maxFiles: 1000}}')).daemon();
      await daemon.start();
      const rss: number[] = [];
      try {
        for (const wave of [0, 1]) {
          for (let i = 0; i < 1000; i++) writeFileSync(join(gDrop, `w${wave}-${i}.csv`), exportText(`G${wave}x${i}`, 2));
          await until(`wave ${wave} done`, async () => ((await daemon.journal.summary()).inputs['done'] ?? 0) === 1000 * (wave + 1), 150_000);
          await until(`wave ${wave} settled`, async () => (await daemon.journal.inputsIn('done')).length === 0, 30_000);
          rss.push(process.memoryUsage().rss);
        }
        const dir = join(sim.homeOf('dmc'), 'DMC_12345678', 'in', 'processed');
        const archived = join(root, 'sim', 'accounts', 'dmc', 'archive');
        const files = [...readdirSync(dir).map((f) => join(dir, f)), ...(existsSync(archived) ? readdirSync(archived).map((f) => join(archived, f)) : [])];
        const counts = new Map<string, number>();
        let grouped = 0;
        for (const f of files) {
          const text = readFileSync(f, 'latin1');
          if (!text.includes(';G0x') && !text.includes(';G1x')) continue;
          grouped++;
          for (const m of text.matchAll(/;(G[01]x\d+)-\d\n/g)) counts.set(m[1]!, (counts.get(m[1]!) ?? 0) + 1);
        }
        expect(counts.size).toBe(2000);
        expect([...counts.values()].every((n) => n === 2)).toBe(true);
        expect(grouped).toBeLessThanOrEqual(10);
        expect(readdirSync(join(gDrop, 'sent')).filter((f) => /^w\d-\d+\.csv$/.test(f))).toHaveLength(2000);
        // Memory: the second wave of 1,000 exports adds little to the first (no growth with the number handled).
        expect(rss[1]! - rss[0]!, `RSS ${rss.map((x) => Math.round(x / 1048576)).join(' -> ')} MB`).toBeLessThan(150 * 1048576);
      } finally {
        await daemon.stop();
      }
    }, 400_000);

    it('one daemon per journal', async () => {
      const a = new Daemon(await config(), silentLogger);
      await a.start();
      try {
        await expect(config().then((c) => new Daemon(c, silentLogger).start())).rejects.toThrow(/another daemon \(pid \d+\) uses this journal/);
      } finally {
        await a.stop();
      }
    });

    it('crash test: killed with SIGKILL at random moments while it works, restarted each time: every export sent exactly once, none lost', async () => {
      const crashDrop = join(root, 'crash-drop');
      mkdirSync(crashDrop, { recursive: true });
      const crash = await variant('crash', '    - {path: crash-drop, command: cmd.yaml}');
      const N = 50;
      for (let i = 0; i < N; i++) writeFileSync(join(crashDrop, `c-${i}.csv`), exportText(`K${i}`, 50));
      let kills = 0;
      const runOnce = (ms: number | undefined): Promise<void> =>
        new Promise((resolve) => {
          const p = spawn(process.execPath, [bin, 'daemon', '--config', crash.path, '--log-level', 'error'], { cwd: repo, stdio: 'ignore' });
          const t =
            ms === undefined
              ? undefined
              : setTimeout(() => {
                  kills++;
                  p.kill('SIGKILL');
                }, ms);
          p.on('close', () => {
            if (t) clearTimeout(t);
            resolve();
          });
          if (ms === undefined) {
            void until(
              'all done',
              () => existsSync(join(crashDrop, 'sent')) && readdirSync(join(crashDrop, 'sent')).filter((f) => /^c-\d+\.csv$/.test(f)).length === N,
              90_000,
            ).finally(() => p.kill('SIGTERM'));
          }
        });
      // Kill it 8 times at moments drawn from a seed (0.3 to 1.5 s after start; DMC_CRASH_SEED replays a run), then let it finish.
      const seed = Number(process.env['DMC_CRASH_SEED'] ?? Date.now() % 100_000);
      const random = rng(seed);
      console.info(`crash test: seed ${seed} (DMC_CRASH_SEED=${seed} replays these kill times)`);
      for (let k = 0; k < 8; k++) await runOnce(300 + Math.floor(random() * 1200));
      await runOnce(undefined);
      expect(kills).toBe(8);
      for (let i = 0; i < N; i++) expect(processedWith(`K${i}`), `K${i}`).toBe(1);
      expect(readdirSync(crashDrop).filter((f) => f.endsWith('.csv'))).toEqual([]);
      // Nothing failed (an error file says why, if one did).
      expect(
        readdirSync(join(crashDrop, 'failed'))
          .filter((f) => f.startsWith('c-'))
          .map((f) => (f.endsWith('.error.txt') ? `${f}: ${readFileSync(join(crashDrop, 'failed', f), 'utf8').trim()}` : f)),
      ).toEqual([]);
    }, 180_000);
  });
}
