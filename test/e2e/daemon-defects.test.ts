/**
 * The daemon's promises in the fault paths that are not a matter of the
 * network (issue #9): report timing, per-row isolation, resend of a
 * duplicate, status before any run, unreadable folders, txt documents,
 * outcomes under volume, a graceful stop over FTP, and the systemd unit.
 */
import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import { Daemon, type DaemonOptions } from '../../src/daemon/daemon.js';
import { createLogger, silentLogger } from '../../src/transport/logger.js';
import { Simulator } from '../../src/simulator/simulator.js';
import { broadcastsWith as recorded } from '../helpers/platform-record.js';

const repo = new URL('../../', import.meta.url).pathname;
const until = async (what: string, cond: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};
const exportText = (tag: string, n = 2): string =>
  ['Nom;Mobile;Référence', ...Array.from({ length: n }, (_, i) => `Nom${i};06${String(10000000 + i).slice(0, 8)};${tag}-${i}`)].join('\n') + '\n';
const CMD =
  'serviceId: "12345678"\nspaceId: 1\nbroadcastName: "Relance {file}"\nscenarioId: 40\ncallPlanningId: 41\nmessages:\n  - customizableId: 10\n    multimediaType: TXT\n    text: Bonjour\n';

describe('the daemon keeps its promises (issue #9)', () => {
  let root: string;
  let sim: Simulator;
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'dmc-defects-'));
    sim = new Simulator({
      root: join(root, 'sim'),
      accounts: [{ serviceId: '12345678', username: 'dmc', password: 'pw' }],
      sftpPort: 0,
      ftpPort: 0,
      interval: 0.2,
      seed: 'defects',
      autoReports: false,
      archiveAfter: 60,
    });
    await sim.start();
    writeFileSync(join(root, 'cmd.yaml'), CMD);
  });
  afterAll(async () => {
    await sim.stop();
    rmSync(root, { recursive: true, force: true });
  });

  const broadcastsWith = (ref: string): number => recorded(join(root, 'sim'), ref);

  /** A config of its own (folders relative to its directory). */
  function setup(
    name: string,
    folders: string[],
    extra: string[] = [],
    protocol: 'sftp' | 'ftp' = 'sftp',
  ): { dir: string; path: string; make: (o?: DaemonOptions) => Promise<Daemon> } {
    const dir = join(root, name);
    mkdirSync(dir, { recursive: true });
    const transport =
      protocol === 'sftp'
        ? `{protocol: sftp, host: 127.0.0.1, port: ${sim.sftp!.port}, username: dmc, password: pw, hostKey: "${sim.fingerprint}"}`
        : `{protocol: ftp, host: 127.0.0.1, port: ${sim.ftp!.port}, username: dmc, password: pw}`;
    const path = join(dir, 'dmc.yaml');
    writeFileSync(
      path,
      [
        'service: {serviceId: "12345678"}',
        `transport: ${transport}`,
        'timeouts: {connect: 5, documentsTaken: 10, outcome: 20, poll: 0.1}',
        'retries: {attempts: 2, minDelay: 0.05, maxDelay: 0.1}',
        'reports: {dir: reports}',
        'daemon:',
        '  journal: state/journal.db',
        '  stableSeconds: 0.2',
        '  rescanSeconds: 1',
        ...extra.map((l) => `  ${l}`),
        '  dropFolders:',
        ...folders.map((f) => `    - ${f}`),
      ].join('\n'),
    );
    return { dir, path, make: async (o = {}) => new Daemon(await parseConfig(readFileSync(path, 'utf8'), path), silentLogger, o) };
  }

  it('#3 a daemon started before reportsAt still collects at reportsAt that day', async () => {
    const { make, dir } = setup('d3', ['{path: drop, command: ../cmd.yaml}'], ['reportsAt: "07:00"']);
    mkdirSync(join(dir, 'drop'), { recursive: true });
    let clock = new Date('2027-01-15T05:00:00Z'); // 06:00 in Paris
    const collected: string[] = [];
    const daemon = await make({
      now: () => clock,
      onEvent: (e) => {
        if (e.type === 'collected') collected.push(clock.toISOString());
      },
    });
    await daemon.start();
    try {
      await until('the start-up collection', () => collected.length === 1);
      clock = new Date('2027-01-15T06:01:00Z'); // 07:01 in Paris
      await until('the 07:00 collection', () => collected.length === 2, 15_000);
      clock = new Date('2027-01-15T06:30:00Z');
      // Three more passes of the loop (each looks at the schedule), not a fixed time.
      const passes = daemon.passes;
      await until('three more passes', () => daemon.passes >= passes + 3, 15_000);
      expect(collected, 'once at start, once at 07:00, not again that day').toHaveLength(2);
    } finally {
      await daemon.stop();
    }
  });

  it('#4 #14.11 one bad input never stalls the others: a missing command file, a poisoned sidecar, a folder command without broadcastName', async () => {
    writeFileSync(join(root, 'noname.yaml'), CMD.replace(/broadcastName:.*\n/, ''));
    const { make, dir } = setup(
      'd4',
      ['{path: bad, command: ../missing.yaml}', '{path: good, command: ../cmd.yaml}', '{path: noname, command: ../noname.yaml}'],
      ['maxAttempts: 2'],
    );
    for (const f of ['bad', 'good', 'noname']) mkdirSync(join(dir, f), { recursive: true });
    const daemon = await make();
    await daemon.start();
    try {
      writeFileSync(join(dir, 'bad', 'a.csv'), exportText('D4a'));
      writeFileSync(join(dir, 'noname', 'c.csv'), exportText('D4c'));
      mkdirSync(join(dir, 'good', 'poisoned.command.yaml'));
      writeFileSync(join(dir, 'good', 'poisoned.csv'), exportText('D4p'));
      writeFileSync(join(dir, 'good', 'b.csv'), exportText('D4b'));
      await until('the good export sent', () => broadcastsWith('D4b-0') === 1);
      await until('the bad ones failed', () => ['bad/failed/a.csv', 'good/failed/poisoned.csv', 'noname/failed/c.csv'].every((p) => existsSync(join(dir, p))));
      expect(readFileSync(join(dir, 'bad', 'failed', 'a.csv.error.txt'), 'utf8')).toMatch(/failed 2 times \(daemon\.maxAttempts\).*missing\.yaml/s);
      expect(readFileSync(join(dir, 'noname', 'failed', 'c.csv.error.txt'), 'utf8')).toMatch(/has no broadcastName/);
      expect(readFileSync(join(dir, 'good', 'failed', 'poisoned.csv.error.txt'), 'utf8')).toMatch(
        /the sidecar poisoned\.command\.yaml is a folder or a device, not a regular file/,
      );
      expect(broadcastsWith('D4a-0') + broadcastsWith('D4c-0') + broadcastsWith('D4p-0')).toBe(0);
    } finally {
      await daemon.stop();
    }
  });

  it('#20 a file journaled but not yet moved when its daemon died is taken under its row at the restart, not refused as a duplicate of itself', async () => {
    const { take } = await import('../../src/daemon/intake.js');
    const { fileHash } = await import('../../src/transport/handshake.js');
    const { make, dir } = setup('d20', ['{path: drop, command: ../cmd.yaml}']);
    const folder = join(dir, 'drop');
    mkdirSync(join(folder, 'work'), { recursive: true });
    const path = join(folder, 'one.csv');
    writeFileSync(path, exportText('D20'));
    const daemon = await make();
    // What a run killed between its two intake steps leaves: the row `seen`, the file still in the drop folder.
    await daemon.open();
    try {
      const seen = await daemon.journal.addInput({
        folder,
        name: 'one.csv',
        hash: await fileHash(path),
        size: 10,
        kind: 'export',
        workDir: join(folder, 'work'),
      });
      // The watcher of the restarted daemon offers the file before the worker's first pass moves it.
      const ctx = (daemon as unknown as { ctx: Parameters<typeof take>[0] }).ctx;
      expect(await take(ctx, ctx.d.dropFolders[0]!, path, () => undefined)).toBe(true);
      const rows = await daemon.journal.recentInputs(10);
      expect(rows.map((r) => [r.id, r.state])).toEqual([[seen.id, 'working']]);
      expect(existsSync(seen.work_path)).toBe(true);
      expect(existsSync(join(folder, 'failed', 'one.csv'))).toBe(false);
    } finally {
      await daemon.journal.close();
    }
  });

  it('#6 resend --force of an input refused as a duplicate sends it', async () => {
    const { runResend } = await import('../../src/cli/daemon-command.js');
    const io = { out: (_l: string) => undefined, err: (_l: string) => undefined, isTTY: false };
    const { make, dir, path } = setup('d6', ['{path: drop, command: ../cmd.yaml}']);
    mkdirSync(join(dir, 'drop'), { recursive: true });
    const daemon = await make();
    await daemon.start();
    try {
      writeFileSync(join(dir, 'drop', 'one.csv'), exportText('D6'));
      await until('sent once', () => broadcastsWith('D6-0') === 1);
      await until('the first settled', async () => (await daemon.journal.recentInputs(5)).some((r) => r.state === 'done' && r.settled === 1));
      writeFileSync(join(dir, 'drop', 'again.csv'), exportText('D6'));
      await until('refused as a duplicate', async () =>
        (await daemon.journal.recentInputs(5)).some((r) => r.name === 'again.csv' && r.state === 'duplicate' && r.settled === 1),
      );
      const dup = (await daemon.journal.recentInputs(5)).find((r) => r.name === 'again.csv')!;
      expect(await runResend(String(dup.id), { config: path, force: true }, io)).toBe(0);
      await until('sent a second time', () => broadcastsWith('D6-0') === 2);
    } finally {
      await daemon.stop();
    }
  });

  it('#7 status and retry before the daemon ever ran: one line, no stack trace', async () => {
    const { path } = setup('d7', ['{path: drop, command: ../cmd.yaml}']);
    const run = (args: string[]): Promise<{ code: number | null; out: string; err: string }> =>
      new Promise((res) => {
        const p = spawn(process.execPath, [join(repo, 'dist/cli/main.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        p.stdout.on('data', (c: Buffer) => {
          out += c.toString();
        });
        p.stderr.on('data', (c: Buffer) => {
          err += c.toString();
        });
        p.on('close', (code) => res({ code, out, err }));
      });
    const status = await run(['status', '--config', path]);
    expect(status.code).toBe(0);
    expect(status.out.trim()).toMatch(/^no journal yet at .*journal\.db: the daemon has not run/);
    const json = await run(['status', '--config', path, '--json']);
    expect(JSON.parse(json.out)).toMatchObject({ exists: false, inputs: {} });
    const retry = await run(['retry', '1', '--config', path]);
    expect(retry.code).toBe(2);
    expect(retry.err).toMatch(/no input #1: there is no journal yet/);
    expect(status.err + retry.err).not.toMatch(/\n\s+at /);
    // An operator's shell lacks the daemon's secrets: the journal's commands need none.
    const noSecrets = join(dirname(path), 'no-secrets.yaml');
    writeFileSync(
      noSecrets,
      readFileSync(path, 'utf8')
        .replace('password: pw', 'passwordFile: /nonexistent/dmc-password')
        .replace('daemon:', 'daemon:\n  hooks: [{on: [failed], url: "https://si.example/h?token=${DMC_TEST_UNSET_TOKEN}"}]'),
    );
    const lean = await run(['status', '--config', noSecrets]);
    expect(lean.err).toBe('');
    expect(lean.out).toMatch(/^no journal yet/);
    expect((await run(['retry', '1', '--config', noSecrets])).err).toMatch(/no input #1: there is no journal yet/);
    expect((await run(['results', 'x', '--config', noSecrets])).err).not.toMatch(/DMC_TEST_UNSET_TOKEN|dmc-password/);
    // The daemon itself still refuses to start without them.
    const daemon = await run(['daemon', '--config', noSecrets]);
    expect(daemon.code).toBe(2);
    expect(daemon.err).toMatch(/passwordFile '\/nonexistent\/dmc-password' cannot be read/);
  });

  it('#8 an unreadable drop folder is reported (status, hook), then taken from again when it is back', async () => {
    const { make, dir, path } = setup(
      'd8',
      ['{path: drop, command: ../cmd.yaml}'],
      ['hooks:', `  - {on: [unhealthy, recovered], command: "cat >> ${join(root, 'd8', 'alerts.jsonl')}; echo >> ${join(root, 'd8', 'alerts.jsonl')}"}`],
    );
    const drop = join(dir, 'drop');
    mkdirSync(drop, { recursive: true });
    const daemon = await make();
    await daemon.start();
    try {
      rmSync(drop, { recursive: true, force: true });
      await until('the folder marked unhealthy', async () => (await daemon.journal.folders()).some((f) => f.path === drop && f.healthy === 0));
      const { runStatus } = await import('../../src/cli/daemon-command.js');
      const lines: string[] = [];
      await runStatus({ config: path }, { out: (l: string) => lines.push(l), err: () => undefined, isTTY: false });
      expect(lines.join('\n')).toMatch(/folder .*drop: UNHEALTHY since .* cannot read .*ENOENT/);
      await until('the alert hook', () => existsSync(join(dir, 'alerts.jsonl')) && readFileSync(join(dir, 'alerts.jsonl'), 'utf8').includes('"unhealthy"'));
      mkdirSync(drop, { recursive: true });
      writeFileSync(join(drop, 'back.csv'), exportText('D8'));
      await until('the export sent once the folder is back', () => broadcastsWith('D8-0') === 1);
      await until('the recovery hook', () => readFileSync(join(dir, 'alerts.jsonl'), 'utf8').includes('"recovered"'));
      // The JSON shape is the one docs/cli.md shows (its keys, and those of a recent input and its triggers).
      const json: string[] = [];
      await runStatus({ config: path, json: true }, { out: (l: string) => json.push(l), err: () => undefined, isTTY: false });
      const doc = /<!-- status-json -->\s*```json\n([\s\S]*?)```/.exec(readFileSync(join(repo, 'docs/cli.md'), 'utf8'))![1]!.replace(/"…"/g, '""');
      const documented = JSON.parse(doc) as Record<string, unknown> & { recent: Record<string, unknown>[] };
      const actual = JSON.parse(json[0]!) as Record<string, unknown>;
      expect(Object.keys(actual).sort()).toEqual(Object.keys(documented).sort());
      const recent = (actual['recent'] as Record<string, unknown>[])[0]!;
      expect(Object.keys(recent).sort()).toEqual(Object.keys(documented.recent[0]!).sort());
      expect(Object.keys((recent['triggers'] as Record<string, unknown>[])[0]!).sort()).toEqual(
        Object.keys((documented.recent[0]!['triggers'] as Record<string, unknown>[])[0]!).sort(),
      );
    } finally {
      await daemon.stop();
    }
  });

  it('#10 a .txt document dropped with its trigger is taken as a document and sent before it', async () => {
    const { make, dir } = setup('d10', ['{path: drop, command: ../cmd.yaml}']);
    mkdirSync(join(dir, 'drop'), { recursive: true });
    const daemon = await make();
    await daemon.start();
    try {
      writeFileSync(join(dir, 'drop', 'PJ2.txt'), 'Conditions générales\n', 'latin1');
      writeFileSync(
        join(dir, 'drop', 'mail.csv'),
        [
          '#COMMAND',
          'serviceId:12345678',
          'spaceId:1',
          'broadcastName:Avec PJ',
          'scenarioId:40',
          'callPlanningId:41',
          'customizableId:10',
          'multimediaType:HTML',
          'messageSubject:Bonjour',
          'text:<p>Bonjour</p>',
          'fileAttachment:PJ2.txt',
          '#CONTACTS',
          'NAME;EMAIL1;EXTERNALREFERENCE',
          'Dupont;dupont@example.com;D10-0',
          '#END',
          '',
        ].join('\n'),
        'latin1',
      );
      await until('the trigger sent', () => broadcastsWith('D10-0') === 1);
      const inputs = await daemon.journal.recentInputs(5);
      expect(inputs.find((r) => r.name === 'PJ2.txt')).toMatchObject({ kind: 'document' });
      await until('both done', async () => (await daemon.journal.recentInputs(5)).every((r) => r.state === 'done'));
      expect(sim.journal.some((e) => e.source === 'platform' && e.type === 'document-taken' && e.name === 'PJ2.txt')).toBe(true);
    } finally {
      await daemon.stop();
    }
  });

  it('#13 outcomes under volume: every trigger followed to processed, none archived unseen', async () => {
    // A platform that archives 3 s after the upload: following outcomes only after the whole batch (12 s at 5/s) loses them.
    const fast = new Simulator({
      root: join(root, 'fast-sim'),
      accounts: [{ serviceId: '12345678', username: 'dmc', password: 'pw' }],
      sftpPort: 0,
      interval: 0.2,
      seed: 'fast',
      autoReports: false,
      archiveAfter: 3,
    });
    await fast.start();
    const dir = join(root, 'd13');
    mkdirSync(join(dir, 'drop'), { recursive: true });
    const path = join(dir, 'dmc.yaml');
    writeFileSync(
      path,
      [
        'service: {serviceId: "12345678"}',
        `transport: {protocol: sftp, host: 127.0.0.1, port: ${fast.sftp!.port}, username: dmc, password: pw, hostKey: "${fast.fingerprint}"}`,
        'timeouts: {connect: 5, documentsTaken: 10, outcome: 60, poll: 0.3}',
        'reports: {dir: reports}',
        'daemon:',
        '  journal: state/journal.db',
        '  stableSeconds: 0.2',
        '  rescanSeconds: 1',
        '  dropFolders:',
        '    - {path: drop, command: ../cmd.yaml}',
      ].join('\n'),
    );
    const daemon = new Daemon(await parseConfig(readFileSync(path, 'utf8'), path), silentLogger);
    await daemon.start();
    try {
      for (let i = 0; i < 60; i++) writeFileSync(join(dir, 'drop', `v-${i}.csv`), exportText(`D13x${i}`, 1));
      await until('60 inputs done', async () => ((await daemon.journal.summary()).inputs['done'] ?? 0) === 60, 90_000);
      expect((await daemon.journal.summary()).triggers).toEqual({ processed: 60 });
    } finally {
      await daemon.stop();
      await fast.stop();
    }
  }, 120_000);

  it('#2 #11 SIGTERM ends the daemon over FTP while uploads and report collection run, with no connection left', async () => {
    const { dir, path } = setup('d11', ['{path: drop, command: ../cmd.yaml}'], ['reportsEvery: 0.3'], 'ftp');
    mkdirSync(join(dir, 'drop'), { recursive: true });
    for (let i = 0; i < 20; i++) writeFileSync(join(dir, 'drop', `t-${i}.csv`), exportText(`D11x${i}`, 1));
    const p = spawn(process.execPath, [join(repo, 'dist/cli/main.js'), 'daemon', '--config', path, '--log-level', 'error'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: dir,
    });
    let out = '';
    p.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    const exited = new Promise<number | null>((res) => p.on('exit', (code) => res(code)));
    await until('a few sent while reports are collected', () => (out.match(/ sent #/g) ?? []).length >= 3 && out.includes(' collected'), 60_000);
    await sim.report();
    p.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('still running 20 s after SIGTERM'), 20_000))]);
    if (code !== 0) p.kill('SIGKILL');
    expect(code).toBe(0);
    const conns = (sim.ftp as unknown as { connections?: () => number }).connections?.();
    if (conns !== undefined) expect(conns).toBe(0);
    // Whatever was cut short is resumed by the next run: nothing sent twice.
    for (let i = 0; i < 20; i++) expect(broadcastsWith(`D11x${i}-0`)).toBeLessThanOrEqual(1);
  }, 90_000);

  it('#14 stop starts no retry and no next step: it ends while the retries would go on, and the export resumes at the next start', async () => {
    // A port nothing listens on: every connection is refused, and the next attempt is 30-60 s away.
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const { dir, path, make } = setup('d14', ['{path: drop, command: ../cmd.yaml}']);
    const down = join(dir, 'down.yaml');
    writeFileSync(
      down,
      readFileSync(path, 'utf8')
        .replace(/port: \d+/, `port: ${port}`)
        .replace(/retries: .*/, 'retries: {attempts: 5, minDelay: 30, maxDelay: 60}'),
    );
    let log = '';
    const destination = new Writable({
      write(c: Buffer, _e, cb) {
        log += c.toString();
        cb();
      },
    });
    const daemon = new Daemon(await parseConfig(readFileSync(down, 'utf8'), down), createLogger({ level: 'info', destination }));
    await daemon.start();
    mkdirSync(join(dir, 'drop'), { recursive: true });
    writeFileSync(join(dir, 'drop', 'late.csv'), exportText('D14'));
    await until('a refused connection and a retry 30-60 s away', () => /attempt 1 of 6\); next attempt in 30-60 s/.test(log));
    const stopped = await Promise.race([
      daemon.stop().then(() => 'stopped'),
      new Promise<string>((r) => setTimeout(() => r('still waiting for the retry 15 s after stop'), 15_000).unref()),
    ]);
    expect(stopped).toBe('stopped');
    // Nothing was counted against the export: the next start sends it.
    const again = await make();
    await again.start();
    try {
      await until('sent at the next start', () => broadcastsWith('D14-0') === 1);
      expect(await again.journal.inputsIn('failed')).toHaveLength(0);
    } finally {
      await again.stop();
    }
  });

  it('#14 the systemd unit waits for the longest step of the example config before it kills', () => {
    const unit = readFileSync(join(repo, 'examples/dmc-trigger.service'), 'utf8');
    const config = readFileSync(join(repo, 'examples/dmc.yaml'), 'utf8');
    const stop = Number(/^TimeoutStopSec=(\d+)$/m.exec(unit)?.[1]);
    const timeouts = /timeouts: \{([^}]*)\}/.exec(config)?.[1] ?? '';
    const of = (k: string): number => Number(new RegExp(`${k}: (\\d+)`).exec(timeouts)?.[1] ?? 60);
    // After SIGTERM: the operation in flight (its own bound), then the hook deliveries in flight (30 s), then a margin.
    expect(stop).toBeGreaterThanOrEqual(Math.max(of('transfer'), of('idle'), of('connect')) + 30 + 60);
    expect(unit).toMatch(/starts no other \(no retry, no next step\)/);
  });
});
