/**
 * The daemon's intake under hostile or careless input (issue #14): links,
 * secrets in hook URLs, names with line breaks, files still being written
 * after they were taken, intake failures, poisoned sidecars.
 */
import {
  appendFileSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import { Daemon, type DaemonOptions } from '../../src/daemon/daemon.js';
import { createLogger, silentLogger } from '../../src/transport/logger.js';
import { Simulator } from '../../src/simulator/simulator.js';
import { broadcastsWith as recorded } from '../helpers/platform-record.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
const repo = new URL('../../', import.meta.url).pathname;

const until = async (what: string, cond: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};
const CMD =
  'serviceId: "12345678"\nspaceId: 1\nbroadcastName: "Hostile {file}"\nscenarioId: 40\ncallPlanningId: 41\nmessages:\n  - customizableId: 10\n    multimediaType: TXT\n    text: Bonjour\n';
const SECRET = 'S3cr3t-Root-Password-Do-Not-Leak';

describe('the daemon under hostile input (issue #14)', () => {
  let root: string;
  let sim: Simulator;
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'dmc-dhostile-'));
    sim = new Simulator({
      root: join(root, 'sim'),
      accounts: [{ serviceId: '12345678', username: 'dmc', password: 'pw' }],
      sftpPort: 0,
      interval: 0.2,
      seed: 'hostile',
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

  async function daemonFor(
    name: string,
    extra: string[] = [],
    o: DaemonOptions & { log?: string[]; folder?: string; port?: number } = {},
  ): Promise<{ dir: string; drop: string; daemon: Daemon; config: string }> {
    const dir = join(root, name);
    const drop = join(dir, 'drop');
    mkdirSync(drop, { recursive: true });
    const config = join(dir, 'dmc.yaml');
    writeFileSync(
      config,
      [
        'service: {serviceId: "12345678"}',
        `transport: {protocol: sftp, host: 127.0.0.1, port: ${o.port ?? sim.sftp!.port}, username: dmc, password: pw, hostKey: "${sim.fingerprint}"}`,
        'timeouts: {connect: 5, documentsTaken: 10, outcome: 20, poll: 0.1}',
        'retries: {attempts: 1, minDelay: 0.05, maxDelay: 0.1}',
        `reports: {dir: ${join(dir, 'reports')}}`,
        'daemon:',
        `  journal: ${join(dir, 'journal.db')}`,
        '  stableSeconds: 0.3',
        '  rescanSeconds: 1',
        '  maxAttempts: 2',
        ...extra.map((l) => `  ${l}`),
        '  dropFolders:',
        `    - {path: ${drop}, command: ${join(root, 'cmd.yaml')}${o.folder ? `, ${o.folder}` : ''}}`,
      ].join('\n'),
    );
    const log = o.log;
    const logger = log
      ? createLogger({
          level: 'debug',
          destination: new Writable({
            write(c: Buffer, _e, cb) {
              log.push(c.toString());
              cb();
            },
          }),
        })
      : silentLogger;
    const daemon = new Daemon(await parseConfig(readFileSync(config, 'utf8'), config), logger, o);
    await daemon.start();
    return { dir, drop, daemon, config };
  }

  it('#1 a link in a drop folder is never followed: the file it points to is not read, quoted, logged or forwarded', async () => {
    const secretFile = join(root, 'account-password');
    writeFileSync(secretFile, `${SECRET}\n`);
    const log: string[] = [];
    const events: string[] = [];
    const hookLog = join(root, 'links-hooks.jsonl');
    const { drop, daemon, config } = await daemonFor('links', ['hooks:', `  - {on: [failed, sent], command: "cat >> ${hookLog}; echo >> ${hookLog}"}`], {
      log,
      onEvent: (e) => events.push(JSON.stringify(e)),
    });
    try {
      symlinkSync(secretFile, join(drop, 'pw.csv'));
      writeFileSync(join(drop, 'real.csv'), 'Nom;Mobile;Référence\nA;0612345678;LNK-0\n');
      await until('the real export sent', () => broadcastsWith('LNK-0') === 1);
      await until('the link said in the log', () => log.join('').includes('symbolic link'));
      const { runStatus } = await import('../../src/cli/daemon-command.js');
      const status: string[] = [];
      await runStatus({ config, json: true }, { out: (l) => status.push(l), err: () => undefined, isTTY: false });
      const everything = [
        log.join(''),
        events.join('\n'),
        status.join('\n'),
        existsSync(hookLog) ? readFileSync(hookLog, 'utf8') : '',
        ...readdirSync(join(drop, 'failed')).map((f) => readFileSync(join(drop, 'failed', f), 'utf8')),
      ].join('\n');
      expect(everything).not.toContain(SECRET);
      expect(existsSync(join(drop, 'pw.csv')), 'the link is left where it is').toBe(true);
      expect((await daemon.journal.recentInputs(10)).map((r) => r.name)).not.toContain('pw.csv');
    } finally {
      await daemon.stop();
    }
  });

  it('#1 a sidecar that is a link, and an export replaced by a link in work/, are never read', async () => {
    const secretFile = join(root, 'shadow-like');
    // Shaped as YAML would read it (a key and a value), as /etc/shadow's lines are: an unknown key was quoted whole.
    writeFileSync(secretFile, `root:${SECRET}:19000:0:99999:7:::\n`);
    const log: string[] = [];
    const { drop, daemon, config } = await daemonFor('sidelinks', [], { log, folder: 'group: {windowSeconds: 3, maxFiles: 10}' });
    try {
      symlinkSync(secretFile, join(drop, 'side.command.yaml'));
      writeFileSync(join(drop, 'side.csv'), 'Nom;Mobile;Référence\nA;0612345678;SL-0\n');
      await until('the export with a linked sidecar failed', () => existsSync(join(drop, 'failed', 'side.csv.error.txt')));
      expect(readFileSync(join(drop, 'failed', 'side.csv.error.txt'), 'utf8')).toMatch(
        /the sidecar side\.command\.yaml is a symbolic link, not a regular file: not read/,
      );
      // Grouped exports wait in work/ for the window: one replaced there by a link is refused, not read.
      writeFileSync(join(drop, 'swap.csv'), 'Nom;Mobile;Référence\nA;0612345678;SL-1\n');
      writeFileSync(join(drop, 'kept.csv'), 'Nom;Mobile;Référence\nB;0612345679;SL-2\n');
      const inWork = (name: string): string | undefined => readdirSync(join(drop, 'work')).find((f) => f.endsWith(`-${name}`));
      await until('taken into work/', () => inWork('swap.csv') !== undefined && inWork('kept.csv') !== undefined);
      const work = join(drop, 'work', inWork('swap.csv')!);
      rmSync(work);
      symlinkSync(secretFile, work);
      await until('the swapped export failed', () => existsSync(join(drop, 'failed', 'swap.csv.error.txt')));
      expect(readFileSync(join(drop, 'failed', 'swap.csv.error.txt'), 'utf8')).toMatch(/swap\.csv in work\/ is no longer a regular file/);
      await until('the other export sent', () => broadcastsWith('SL-2') === 1);
      const { runStatus } = await import('../../src/cli/daemon-command.js');
      const status: string[] = [];
      await runStatus({ config, json: true }, { out: (l) => status.push(l), err: () => undefined, isTTY: false });
      // The links themselves go to failed/ with their export; what the daemon wrote there are the regular files.
      const written = readdirSync(join(drop, 'failed')).filter((f) => lstatSync(join(drop, 'failed', f)).isFile());
      expect(written).toContain('side.csv.error.txt');
      const everything = [log.join(''), status.join('\n'), ...written.map((f) => readFileSync(join(drop, 'failed', f), 'utf8'))].join('\n');
      expect(everything).not.toContain(SECRET.slice(0, 12));
    } finally {
      await daemon.stop();
    }
  });

  it('#1 a document replaced by a link in work/ before its trigger goes is neither read nor sent', async () => {
    const secretFile = join(root, 'doc-secret');
    writeFileSync(secretFile, `${SECRET}\n`);
    // The account is unreachable until the swap is done: the trigger is built and waits in work/ with its document.
    const proxy = new FaultProxy({ host: '127.0.0.1', port: sim.sftp!.port });
    const port = await proxy.start();
    proxy.refuseFor(120_000);
    const { drop, daemon } = await daemonFor('doclink', [], { port });
    try {
      copyFileSync(join(repo, 'samples/documents/TESTFAX.pdf'), join(drop, 'TESTFAX.pdf'));
      copyFileSync(join(repo, 'samples/fax-pdf.csv'), join(drop, 'fax.csv'));
      await until('the trigger built, its document in work/', async () => (await daemon.journal.inputsIn('built')).some((r) => r.name === 'fax.csv'));
      const doc = (await daemon.journal.inputsIn('working')).find((r) => r.name === 'TESTFAX.pdf')!;
      rmSync(doc.work_path);
      symlinkSync(secretFile, doc.work_path);
      proxy.refuseFor(0);
      await until('the trigger failed', () => existsSync(join(drop, 'failed', 'fax.csv.error.txt')), 60_000);
      expect(readFileSync(join(drop, 'failed', 'fax.csv.error.txt'), 'utf8')).toMatch(/the document TESTFAX\.pdf in work\/ is no longer a regular file/);
      const onThePlatform = readdirSync(join(root, 'sim'), { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => readFileSync(join(e.parentPath, e.name), 'latin1'));
      expect(onThePlatform.some((t) => t.includes(SECRET))).toBe(false);
    } finally {
      await daemon.stop();
      await proxy.close();
    }
  });

  it('a name too long to carry through work/, sent/ and failed/ is not taken, and said once; the longest allowed goes through', async () => {
    const log: string[] = [];
    const { drop, daemon } = await daemonFor('longnames', [], { log });
    try {
      const longest = `${'L'.repeat(226)}.csv`; // 230 bytes
      const tooLong = `${'T'.repeat(236)}.csv`; // 240 bytes: its work/ file (000001-<name>.command.yaml) would pass 255
      writeFileSync(join(drop, longest), 'Nom;Mobile;Référence\nA;0612345678;LN-0\n');
      writeFileSync(join(drop, tooLong), 'Nom;Mobile;Référence\nB;0612345679;LN-1\n');
      await until('the longest allowed name sent', () => existsSync(join(drop, 'sent', `${longest}.trigger.csv`)));
      await until('the other said', () => log.join('').includes('its name is 240 bytes long: at most 230'));
      expect(broadcastsWith('LN-0')).toBe(1);
      expect(existsSync(join(drop, tooLong)), 'left where it is').toBe(true);
      expect((await daemon.journal.recentInputs(10)).map((r) => r.name)).not.toContain(tooLong);
      const passes = daemon.passes;
      await until('two more passes', () => daemon.passes >= passes + 2);
      expect(log.join('').split('its name is 240 bytes long').length - 1, 'said once').toBe(1);
    } finally {
      await daemon.stop();
    }
  });

  it('#4 a webhook secret in the URL never reaches a log, an error or status', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(500).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    const log: string[] = [];
    const { drop, daemon, config } = await daemonFor(
      'webhook',
      ['hooks:', `  - {on: [sent], url: "http://user:${SECRET}@127.0.0.1:${port}/dmc?token=${SECRET}"}`],
      { log },
    );
    try {
      writeFileSync(join(drop, 'w.csv'), 'Nom;Mobile;Référence\nA;0612345678;WH-0\n');
      await until('the hook failed twice', () => log.join('').split('hook failed').length > 2, 20_000);
      const { runStatus } = await import('../../src/cli/daemon-command.js');
      const status: string[] = [];
      await runStatus({ config, json: true }, { out: (l) => status.push(l), err: () => undefined, isTTY: false });
      const leaks = [...log, ...status].filter((l) => l.includes(SECRET));
      expect(leaks, 'lines holding the secret').toEqual([]);
    } finally {
      await daemon.stop();
      server.close();
    }
  });

  it('#12 a file name holding a line break cannot forge a line of the event log', async () => {
    const lines: string[] = [];
    const { drop, daemon } = await daemonFor('newline', [], { onEvent: (e) => lines.push(`${e.type} ${e.name ?? ''}`) });
    try {
      writeFileSync(join(drop, 'a\n2026-11-28T00:00:00Z sent #999 forged.csv'), 'Nom;Mobile;Référence\nA;0612345678;NL-0\n');
      // Its name goes into broadcastName ({file}), where a line break is refused: it fails, with an error file.
      await until('settled', async () => (await daemon.journal.recentInputs(5)).some((r) => r.settled === 1));
    } finally {
      await daemon.stop();
    }
    const { printable } = await import('../../src/formats/printable.js');
    // The CLI prints names through printable: one line per event, the break escaped.
    for (const l of lines.map((x) => printable(x, 500))) expect(l.includes('\n')).toBe(false);
    expect(lines.map((x) => printable(x, 500)).some((l) => l.includes('a\\n2026-11-28T00:00:00Z sent #999 forged.csv'))).toBe(true);
  });

  it('#9 rows appended after the file was taken are never lost in silence: built once complete, or said when too late', async () => {
    // A grouped folder builds after its window: rows appended meanwhile are in the trigger.
    const grouped = await daemonFor('append', [], {});
    await grouped.daemon.stop();
    const cfg = readFileSync(grouped.config, 'utf8').replace(/command: ([^}]+)\}/, 'command: $1, group: {windowSeconds: 1.5, maxFiles: 10}}');
    writeFileSync(grouped.config, cfg);
    const daemon = new Daemon(await parseConfig(cfg, grouped.config), silentLogger);
    await daemon.start();
    const drop = grouped.drop;
    try {
      writeFileSync(join(drop, 'slow.csv'), 'Nom;Mobile;Référence\nA;0612345678;AP-0\n');
      await until('taken', async () => (await daemon.journal.recentInputs(5)).some((r) => r.name === 'slow.csv' && r.state === 'working'));
      // The writer comes back after a pause longer than stableSeconds: its file is now in work/ (same inode).
      appendFileSync((await daemon.journal.recentInputs(5)).find((r) => r.name === 'slow.csv')!.work_path, 'B;0612345679;AP-1\n');
      await until('sent with both rows', () => broadcastsWith('AP-0') === 1 && broadcastsWith('AP-1') === 1, 30_000);
      await until('settled', async () => (await daemon.journal.recentInputs(5)).some((r) => r.name === 'slow.csv' && r.settled === 1));
      expect(existsSync(join(drop, 'sent', 'slow.csv.error.txt'))).toBe(false);
    } finally {
      await daemon.stop();
    }
    // Too late to wait (the trigger is already up): the rows are not lost in silence.
    const late = await daemonFor('append-late', [], {});
    // The platform holds its passes: the trigger waits in in/ and the export stays sent, not done, until released.
    const release = sim.hold();
    try {
      writeFileSync(join(late.drop, 'late.csv'), 'Nom;Mobile;Référence\nA;0612345678;AL-0\n');
      await until('sent', async () => (await late.daemon.journal.recentInputs(5)).some((r) => r.name === 'late.csv' && r.state === 'sent'), 30_000);
      const row = (await late.daemon.journal.recentInputs(5)).find((r) => r.name === 'late.csv')!;
      // Between sent and done: the export is still in work/.
      expect(row.settled).toBe(0);
      appendFileSync(row.work_path, 'B;0612345679;AL-1\n');
      release();
      await until('settled', async () => (await late.daemon.journal.recentInputs(5)).some((r) => r.name === 'late.csv' && r.settled === 1), 30_000);
      expect(readFileSync(join(late.drop, 'sent', 'late.csv.error.txt'), 'utf8')).toMatch(
        /grew from \d+ to \d+ bytes after it was sent: the rows written after that were NOT sent/,
      );
    } finally {
      release();
      await late.daemon.stop();
    }
  });

  it('#10 a failed intake is retried and shown by status', async () => {
    const { drop, daemon, config } = await daemonFor('intake', [], {});
    try {
      // work/ replaced by a file: the move into it fails until it is put right.
      rmSync(join(drop, 'work'), { recursive: true, force: true });
      writeFileSync(join(drop, 'work'), 'not a folder');
      writeFileSync(join(drop, 'in.csv'), 'Nom;Mobile;Référence\nA;0612345678;IN-0\n');
      await until('the intake error recorded', async () => (await daemon.journal.intakeErrors()).length > 0);
      // The file named work is the daemon's own folder's name: never taken as an input (it was, and then failed forever).
      const { ignoredName } = await import('../../src/daemon/watcher.js');
      for (const own of ['work', 'sent', 'failed']) expect(ignoredName(own)).toBe(true);
      expect((await daemon.journal.recentInputs(10)).map((r) => r.name)).not.toContain('work');
      // The error stays shown while the file waits (the intake cleared it as soon as it had recorded it).
      await until('the worker retried the move', async () => ((await daemon.journal.intakeErrors())[0]?.attempts ?? 0) >= 2);
      expect((await daemon.journal.intakeErrors()).map((e) => e.path)).toEqual([join(drop, 'in.csv')]);
      const { runStatus } = await import('../../src/cli/daemon-command.js');
      const status: string[] = [];
      await runStatus({ config }, { out: (l) => status.push(l), err: () => undefined, isTTY: false });
      expect(status.join('\n')).toMatch(/not taken yet: .*in\.csv — .*retried/);
      rmSync(join(drop, 'work'));
      mkdirSync(join(drop, 'work'));
      await until('sent once put right', () => broadcastsWith('IN-0') === 1, 30_000);
      await until('the error cleared', async () => (await daemon.journal.intakeErrors()).length === 0);
    } finally {
      await daemon.stop();
    }
  });

  it('#11 a sidecar holding a YAML alias bomb fails its export only', async () => {
    const { drop, daemon } = await daemonFor('bomb', [], {});
    try {
      writeFileSync(
        join(drop, 'boom.command.yaml'),
        'a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n',
      );
      writeFileSync(join(drop, 'boom.csv'), 'Nom;Mobile;Référence\nA;0612345678;BB-0\n');
      writeFileSync(join(drop, 'fine.csv'), 'Nom;Mobile;Référence\nA;0612345678;BB-1\n');
      await until('the good one sent', () => broadcastsWith('BB-1') === 1);
      await until('the bomb failed', () => existsSync(join(drop, 'failed', 'boom.csv.error.txt')));
      expect(readFileSync(join(drop, 'failed', 'boom.csv.error.txt'), 'utf8')).toMatch(/aliases/);
    } finally {
      await daemon.stop();
    }
  });
});
