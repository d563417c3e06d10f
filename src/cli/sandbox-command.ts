/**
 * `dmc-trigger sandbox` (what `npm start` runs): the daemon on an embedded
 * simulator, with a sample configuration and drop folder under
 * ./var/sandbox, until Ctrl-C. The first start drops a sample SI export;
 * drop more exports into the drop folder to see them built, sent, processed
 * and reported. State (journal, simulator, host key) is kept between runs.
 */
import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { loadConfig } from '../config/config.js';
import { Daemon } from '../daemon/daemon.js';
import { printable } from '../formats/printable.js';
import { Simulator } from '../simulator/simulator.js';
import { cliLogger } from '../transport/logger.js';
import { EXIT, type Io, untilSignal } from './output.js';
import { describeEntry, writeClientConfig } from './simulator-command.js';

const repoFile = (p: string): string => new URL(`../../${p}`, import.meta.url).pathname;

export async function runSandbox(opts: { dir?: string }, io: Io): Promise<number> {
  const dir = resolve(opts.dir ?? 'var/sandbox');
  const drop = join(dir, 'drop');
  await mkdir(drop, { recursive: true });
  const account = { serviceId: '12345678', username: 'sandbox', password: 'sandbox-password' };
  const sim = new Simulator({
    root: join(dir, 'simulator'), accounts: [account], sftpPort: 0, interval: 2, reportEvery: 15, seed: 'sandbox',
    onJournal: (e) => { if (e.source === 'platform') { const l = describeEntry(e); if (l) io.out(`  [simulator] ${l}`); } },
  });
  await sim.start();
  await copyFile(repoFile('templates/sms-dynamic.yaml'), join(dir, 'command.yaml'));
  const cfgPath = await writeClientConfig(dir, sim, account, 'sftp', [
    'timeouts: {documentsTaken: 30, outcome: 60, poll: 1}',
    'reports: {dir: reports}',
    'daemon:',
    '  journal: state/journal.db',
    '  stableSeconds: 2',
    '  rescanSeconds: 10',
    '  reportsEvery: 20',
    '  dropFolders:',
    '    - {path: drop, command: command.yaml, map: {INFO1: Colis}}',
  ].join('\n'));
  const config = await loadConfig(cfgPath);
  const daemon = new Daemon(config, cliLogger('warn'), {
    // Every few seconds the sandbox looks for reports: say it only when there were some.
    onEvent: (e) => { if (e.type === 'collected' && e.detail?.startsWith('0 ')) return; io.out(`[daemon] ${e.type}${e.input !== undefined ? ` #${e.input}` : ''}${e.name ? ` ${printable(e.name)}` : ''}${e.detail ? `: ${printable(e.detail, 500)}` : ''}`); },
  });
  await daemon.start();
  if ((await readdir(drop)).filter((f) => !['work', 'sent', 'failed'].includes(f)).length === 0 && !Object.keys(daemon.journal.summary().inputs).length) {
    await copyFile(repoFile('samples/exports/crm-semicolon.csv'), join(drop, 'crm-export.csv'));
    io.out(`sample SI export dropped: ${join(drop, 'crm-export.csv')}`);
  }
  io.out(`sandbox: daemon watching ${drop} (config ${cfgPath}); simulator on SFTP 127.0.0.1:${sim.sftp!.port}, a pass every 2 s, reports every 15 s.`);
  io.out(`drop CSV or JSON Lines exports (Nom, Prénom, Mobile, Colis...) into ${drop}; status: dmc-trigger status --config ${cfgPath}. Ctrl-C to stop.`);
  await writeFile(join(dir, 'README.txt'), `The dmc-trigger sandbox (npm start). Drop exports into drop/; results in drop/sent, drop/failed, reports/.\nConfig: ${cfgPath}\n`);
  await untilSignal();
  io.out('stopping');
  await daemon.stop();
  await sim.stop();
  return EXIT.OK;
}
