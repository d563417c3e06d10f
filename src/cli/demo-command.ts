/**
 * `dmc-trigger demo`: the whole cycle on a fresh machine with nothing
 * configured. Starts the simulator in-process on free ports, writes a client
 * config that pins its host key, drops a sample SI export into a drop
 * folder, then: build, validate, send (a fax with its document first, and
 * an SMS built from the export), outcome `processed`, report written,
 * collected, acked and deleted, summary printed. Exits 0.
 */
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { loadConfig } from '../config/config.js';
import { buildTriggerFiles } from '../files/build.js';
import { validateTriggerFile } from '../files/read-trigger.js';
import { parseCommandFile } from '../formats/command-file.js';
import { summarizeCra } from '../formats/cra.js';
import { FindingList } from '../formats/findings.js';
import { Simulator } from '../simulator/simulator.js';
import { openAccount } from '../transport/connect.js';
import { sendTrigger, trackOutcome } from '../transport/handshake.js';
import { silentLogger } from '../transport/logger.js';
import { fetchReports } from '../transport/reports.js';
import { EXIT, type Io } from './output.js';
import { describeEntry, writeClientConfig } from './simulator-command.js';
import { readCraFile } from '../files/reports.js';

const repoFile = (p: string): string => new URL(`../../${p}`, import.meta.url).pathname;

export async function runDemo(opts: { dir?: string; protocol?: string; verbose?: boolean }, io: Io): Promise<number> {
  const t0 = Date.now();
  const dir = resolve(opts.dir ?? 'var/demo');
  const protocol = opts.protocol === 'ftp' ? 'ftp' : 'sftp';
  await rm(dir, { recursive: true, force: true });
  const step = (s: string): void => io.out(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s] ${s}`);
  const account = { serviceId: '12345678', username: 'demo', password: randomBytes(12).toString('base64url') };
  const sim = new Simulator({
    root: join(dir, 'simulator'),
    accounts: [account],
    sftpPort: 0,
    ftpPort: 0,
    interval: 1,
    seed: 'demo',
    autoReports: false,
    onJournal: (e) => {
      const l = describeEntry(e);
      if (l && (opts.verbose || e.source === 'platform')) step(`  ${l}`);
    },
  });
  await sim.start();
  try {
    step(`simulator started: SFTP 127.0.0.1:${sim.sftp!.port} (host key ${sim.fingerprint}), FTP 127.0.0.1:${sim.ftp!.port} (active only)`);
    const cfgPath = await writeClientConfig(
      join(dir, 'config'),
      sim,
      account,
      protocol,
      'timeouts: {documentsTaken: 30, outcome: 30, poll: 0.5}\nreports: {dir: ../reports}',
    );
    step(`client config written (host key pinned): ${cfgPath}`);
    const config = await loadConfig(cfgPath);

    const drop = join(dir, 'drop');
    await mkdir(drop, { recursive: true });
    const exportPath = join(drop, 'crm-export.csv');
    await copyFile(repoFile('samples/exports/crm-semicolon.csv'), exportPath);
    step(`SI export dropped: ${exportPath}`);

    const tpl = repoFile('templates/sms-dynamic.yaml');
    const command = parseCommandFile(await readFile(tpl, 'utf8'), tpl);
    const built = await buildTriggerFiles(command, exportPath, { out: join(dir, 'out', 'colis.csv'), export: { map: { INFO1: 'Colis' } } });
    if (!built.ok) {
      step(`build failed: ${built.findings.map((f) => f.message).join('; ')}`);
      return EXIT.INVALID;
    }
    step(`built ${built.files[0]!.path}: ${built.contacts} contacts, ISO-8859-15 (export read as ${built.export?.encoding}, ${built.export?.encodingReason})`);
    const faxTrigger = repoFile('samples/fax-pdf.csv');
    for (const f of [built.files[0]!.path, faxTrigger]) {
      const v = await validateTriggerFile(f, { documentsDir: repoFile('samples/documents') });
      step(`validated ${f.replace(`${dir}/`, '')}: ${v.valid ? 'valid' : 'INVALID'}, ${v.contacts} contacts, ${v.warnings.length} warning(s)`);
      if (!v.valid) return EXIT.INVALID;
    }

    const { session, remoteRoot } = await openAccount(config, silentLogger);
    try {
      step(`connected over ${protocol.toUpperCase()} as ${account.username}; account root ${remoteRoot}/`);
      for (const [trigger, documents] of [
        [faxTrigger, [repoFile('samples/documents/TESTFAX.pdf')]],
        [built.files[0]!.path, []],
      ] as const) {
        const r = await sendTrigger(
          session,
          { trigger, documents },
          {
            remoteRoot,
            timeouts: config.timeouts,
            logger: silentLogger,
            onStep: (s) => {
              if (s.step === 'uploaded') step(`uploaded ${s.kind} in/${s.name} (.uploading, size checked, renamed)`);
              if (s.step === 'documents-waiting') step(`waiting for the platform to take ${s.names.join(', ')}`);
            },
          },
        );
        const outcome = await trackOutcome(session, remoteRoot, r.remoteName, { timeouts: config.timeouts });
        step(`outcome of ${r.remoteName}: ${outcome}`);
        if (outcome !== 'processed') return EXIT.TRANSPORT;
      }
      await sim.report();
      const got = await fetchReports(session, {
        remoteRoot,
        serviceId: account.serviceId,
        dir: config.reports.dir,
        ackNaming: config.reports.ackNaming,
        logger: silentLogger,
      });
      for (const g of got) step(`report ${g.name}: ${g.fetched}, ${g.ack} -> ${g.localPath}`);
      if (got.length === 0) {
        step('no report was written');
        return EXIT.TRANSPORT;
      }
      await sim.tick();
      const summary = await summarizeCra(readCraFile(got[0]!.localPath, new FindingList()));
      for (const b of summary.broadcasts) {
        step(
          `broadcast ${b.broadcastId}: ${b.contacts} contacts, success ${(b.successRate * 100).toFixed(0)} %: ${b.results.map((r) => `${r.count} ${r.label}`).join(', ')}`,
        );
      }
    } finally {
      await session.close();
    }
    step(`demo complete in ${((Date.now() - t0) / 1000).toFixed(1)} s; files under ${dir}`);
    return EXIT.OK;
  } finally {
    await sim.stop();
  }
}
