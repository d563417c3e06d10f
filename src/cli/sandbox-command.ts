/**
 * `dmc-trigger sandbox` (what `npm start` runs): the daemon on an embedded
 * simulator, with a sample configuration under ./var/sandbox, until Ctrl-C.
 * One drop folder per kind of sample export (SMS, fax, email, cross-media),
 * each with the command and the column mapping its exports need, so that
 * every file of samples/exports/ goes through when dropped in its folder.
 * The first start drops a welcome export; it then says what to drop where.
 * State (journal, simulator, host key) is kept between runs.
 */
import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { loadConfig } from '../config/config.js';
import { Daemon } from '../daemon/daemon.js';
import { printable } from '../formats/printable.js';
import { Simulator } from '../simulator/simulator.js';
import { cliLogger } from '../transport/logger.js';
import { EXIT, type Io, untilSignal } from './output.js';
import { describeEntry, writeClientConfig } from './simulator-command.js';

const repoFile = (p: string): string => new URL(`../../${p}`, import.meta.url).pathname;

/** The sandbox's drop folders: the sample exports each takes, its command, mapping and documents. */
export const SANDBOX_FOLDERS = [
  { name: 'sms', template: 'sms-dynamic.yaml', map: { INFO1: 'Colis' }, documents: [], samples: ['crm-semicolon.csv'] },
  { name: 'fax', template: 'fax-pdf.yaml', map: {}, documents: ['TESTFAX.pdf'], samples: ['fax-tab-latin9.tsv'] },
  { name: 'email', template: 'email-html.yaml', map: {}, documents: ['TESTHTML.html'], samples: ['emails-cp1252.csv'] },
  { name: 'cross-media', template: 'cross-media.yaml', map: {}, documents: ['PJ2.txt', 'TESTFAX.pdf'], samples: ['cross-media.jsonl'] },
] as const;

/** The first start's export: not a copy of a sample, so that dropping the samples afterwards is never a duplicate. */
const WELCOME = 'Nom;Prénom;Mobile;Colis\nBienvenue;Sandbox;06 00 00 00 01;PK-00001\nBienvenue;Démo;06 00 00 00 02;PK-00002\n';

export async function runSandbox(opts: { dir?: string }, io: Io): Promise<number> {
  const dir = resolve(opts.dir ?? 'var/sandbox');
  const drop = join(dir, 'drop');
  for (const f of SANDBOX_FOLDERS) await mkdir(join(drop, f.name), { recursive: true });
  const account = { serviceId: '12345678', username: 'sandbox', password: 'sandbox-password' };
  const sim = new Simulator({
    root: join(dir, 'simulator'),
    accounts: [account],
    sftpPort: 0,
    interval: 2,
    reportEvery: 15,
    seed: 'sandbox',
    onJournal: (e) => {
      if (e.source === 'platform') {
        const l = describeEntry(e);
        if (l) io.out(`  [simulator] ${printable(l, 500)}`);
      }
    },
  });
  await sim.start();
  const commands = join(dir, 'commands');
  await mkdir(commands, { recursive: true });
  for (const f of SANDBOX_FOLDERS) await copyFile(repoFile(`templates/${f.template}`), join(commands, f.template));
  const yaml = (v: unknown): string => JSON.stringify(v);
  const cfgPath = await writeClientConfig(
    dir,
    sim,
    account,
    'sftp',
    [
      'timeouts: {documentsTaken: 30, outcome: 60, poll: 1}',
      'reports: {dir: reports}',
      '# The CRA push receiver (guide §2.9): the simulator posts every status here, within seconds.',
      'push: {listen: "127.0.0.1:0", path: /dmc/status}',
      'daemon:',
      '  journal: state/journal.db',
      '  stableSeconds: 2',
      '  rescanSeconds: 10',
      '  reportsEvery: 20',
      '  http: {listen: "127.0.0.1:0"}   # the console, /metrics, /healthz, /readyz',
      '  dropFolders:',
      ...SANDBOX_FOLDERS.map(
        (f) =>
          `    - {path: ${yaml(`drop/${f.name}`)}, command: ${yaml(`commands/${f.template}`)}, map: ${yaml(f.map)}, documents: ${yaml(f.documents.map((d) => repoFile(`samples/documents/${d}`)))}}`,
      ),
    ].join('\n'),
  );
  const config = await loadConfig(cfgPath);
  const daemon = new Daemon(config, cliLogger('warn', { readable: true }), {
    // Every few seconds the sandbox looks for reports: say it only when there were some.
    onEvent: (e) => {
      if (e.type === 'collected' && e.detail?.startsWith('0 ')) return;
      io.out(
        `[daemon] ${e.type}${e.input !== undefined ? ` #${e.input}` : ''}${e.name ? ` ${printable(e.name)}` : ''}${e.detail ? `: ${printable(e.detail, 500)}` : ''}`,
      );
    },
  });
  await daemon.start();
  sim.setPush({ url: `${daemon.pushOrigin!}/dmc/status` });
  // A second start keeps what the first did: said, so that the ports that changed are not taken for a fresh sandbox.
  const kept = await daemon.journal.summary();
  const inputs = Object.values(kept.inputs).reduce((a, b) => a + b, 0);
  if (inputs > 0)
    io.out(
      `resumed the sandbox in ${dir}: its journal holds ${inputs} input(s) (${Object.entries(kept.inputs)
        .map(([k, n]) => `${k} ${n}`)
        .join(
          ', ',
        )}), ${Object.values(kept.reports).reduce((a, b) => a + b, 0)} report(s); what was in flight goes on. The ports are new at each start (the console's address below); delete ${dir} to start afresh.`,
    );
  if (!Object.keys(kept.inputs).length && (await readdir(join(drop, 'sms'))).filter((f) => !['work', 'sent', 'failed'].includes(f)).length === 0) {
    await writeFile(join(drop, 'sms', 'bienvenue.csv'), WELCOME);
    io.out(`a first SI export dropped: ${join(drop, 'sms', 'bienvenue.csv')}`);
  }
  // Short paths from where the user stands (the repository, with npm start); absolute when elsewhere.
  const here = (p: string): string => {
    const r = relative(process.cwd(), p);
    return r === '' ? '.' : r.startsWith('..') ? p : r;
  };
  io.out(
    `sandbox: the daemon watches ${here(drop)}/{${SANDBOX_FOLDERS.map((f) => f.name).join(',')}}; the simulator serves SFTP on 127.0.0.1:${sim.sftp!.port}, a pass every 2 s, reports every 15 s, and pushes each status to ${daemon.pushOrigin!}/dmc/status.`,
  );
  io.out(`console: ${daemon.opsOrigin!}/ — log in with the token in ${here(config.daemon!.http!.tokenFile)}; metrics at ${daemon.opsOrigin!}/metrics`);
  io.out('try, from another terminal:');
  for (const f of SANDBOX_FOLDERS)
    for (const sample of f.samples)
      io.out(
        `  cp ${here(repoFile(`samples/exports/${sample}`))} ${here(join(drop, f.name))}/   # ${f.name}: ${f.template}${
          Object.keys(f.map).length
            ? `, map ${Object.entries(f.map)
                .map(([k, v]) => `${k}=${v}`)
                .join(',')}`
            : ''
        }`,
      );
  io.out(
    `then look at ${here(drop)}/<folder>/sent, failed and results (each export's rows with their delivery status), ${here(join(dir, 'reports'))}/, and: npx dmc-trigger status --config ${here(cfgPath)}. Ctrl-C to stop.`,
  );
  await writeFile(
    join(dir, 'README.txt'),
    [
      'The dmc-trigger sandbox (npm start): the daemon on an embedded simulator.',
      ...SANDBOX_FOLDERS.map((f) => `drop/${f.name}/: exports like samples/exports/${f.samples.join(', ')} (command commands/${f.template})`),
      'Results in drop/<folder>/sent and failed; each export joined to its statuses in drop/<folder>/results/; reports in reports/.',
      `Config: ${cfgPath}`,
      '',
    ].join('\n'),
  );
  await untilSignal();
  io.out('stopping');
  await daemon.stop();
  await sim.stop();
  return EXIT.OK;
}
