// The daemon's figures (issue #9), printed by `npm run bench`:
// 1. a pass over a journal holding 100,000 settled inputs against one over an
//    empty journal (a pass costs what is actionable, not the history);
// 2. with a PostgreSQL cluster (DMC_BENCH_PG_URL or DMC_TEST_PG_URL): the same
//    pass over 100,000 settled inputs on PostgreSQL, against SQLite (issue #20:
//    at most 3x): idle (no change notified: no statement), and after a change;
// 3. 1,000 exports dropped at once on the simulator: drained at the
//    platform's rate limit (5 triggers/s), with the peak RSS.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../dist/config/config.js';
import { Daemon } from '../dist/daemon/daemon.js';
import { silentLogger } from '../dist/transport/logger.js';
import { Simulator } from '../dist/simulator/simulator.js';

const SETTLED = Number(process.env.BENCH_SETTLED ?? 100_000);
const EXPORTS = Number(process.env.BENCH_DAEMON_EXPORTS ?? 1000);
const root = mkdtempSync(join(tmpdir(), 'dmc-bench-daemon-'));
const CMD =
  'serviceId: "12345678"\nspaceId: 1\nbroadcastName: "Bench {file}"\nscenarioId: 40\ncallPlanningId: 41\nmessages:\n  - customizableId: 10\n    multimediaType: TXT\n    text: Bonjour\n';
writeFileSync(join(root, 'cmd.yaml'), CMD);

const PG = process.env.DMC_BENCH_PG_URL ?? process.env.DMC_TEST_PG_URL;

async function localDaemon(name, pgSchema) {
  const dir = join(root, name);
  mkdirSync(join(dir, 'drop'), { recursive: true });
  const journal = pgSchema ? `"${PG}"\n  store: {schema: ${pgSchema}}` : join(dir, 'journal.db');
  // A transport that is never used: nothing is in flight, and report collection is switched off below.
  const yaml = `service: {serviceId: "12345678"}\ntransport: {protocol: sftp, host: 127.0.0.1, port: 9, username: x, password: x, hostKey: "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}\ndaemon:\n  journal: ${journal}\n  dropFolders:\n    - {path: ${join(dir, 'drop')}, command: ${join(root, 'cmd.yaml')}}\n`;
  const daemon = new Daemon(await parseConfig(yaml, join(dir, 'dmc.yaml')), silentLogger);
  daemon.schedule.due = () => false;
  // The journal and the steps' context, without the watchers: passes are driven by hand.
  await daemon.open();
  // PostgreSQL: the account's lease, so that its writes are allowed (every write is fenced by it).
  if (pgSchema) await daemon.lease.start();
  return daemon;
}

/** The time of one pass of the worker (without the watcher), in ms. */
async function timedPass(daemon) {
  const t = process.hrtime.bigint();
  await daemon.pass();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

/**
 * Medians of `n` passes of each daemon, alternated after a warm-up, so neither pays the JIT's warm-up or a busy moment
 * alone. `beforeB` runs before each of b's passes, untimed.
 */
async function passCosts(a, b, n = 50, beforeB = () => undefined) {
  for (let i = 0; i < 10; i++) {
    await timedPass(a);
    beforeB();
    await timedPass(b);
  }
  const ta = [];
  const tb = [];
  for (let i = 0; i < n; i++) {
    ta.push(await timedPass(a));
    beforeB();
    tb.push(await timedPass(b));
  }
  const median = (t) => t.sort((x, y) => x - y)[Math.floor(n / 2)];
  return [median(ta), median(tb)];
}

const empty = await localDaemon('empty');
const full = await localDaemon('full');
const ins = full.journal.sql.db.prepare(
  "INSERT INTO inputs (folder, name, hash, size, state, kind, work_path, created_at, updated_at, settled) VALUES (?, ?, ?, 10, ?, 'export', ?, ?, ?, 1)",
);
const folder = join(root, 'full', 'drop');
full.journal.sql.db.transaction(() => {
  for (let i = 0; i < SETTLED; i++)
    ins.run(
      folder,
      `e${i}.csv`,
      `h${i}`,
      i % 10 === 0 ? 'failed' : 'done',
      join(folder, 'work', `e${i}.csv`),
      new Date().toISOString(),
      new Date().toISOString(),
    );
})();
const [a, b] = await passCosts(empty, full);
console.log(
  `daemon pass\n  empty journal                    ${a.toFixed(3)} ms\n  journal of ${SETTLED.toLocaleString('en')} settled inputs ${b.toFixed(3)} ms\n  ratio    ${(b / a).toFixed(2)}x (a pass costs what is actionable: target ~1x)\n`,
);
if (PG) {
  // The same 100,000 settled inputs in PostgreSQL (one multi-row INSERT per 1,000), its pass against SQLite's.
  const schema = `bench_${process.pid}`;
  const onPg = await localDaemon('pg', schema);
  const pgFolder = join(root, 'pg', 'drop');
  for (let i = 0; i < SETTLED; i += 1000) {
    const values = [];
    const params = [];
    for (let k = i; k < Math.min(SETTLED, i + 1000); k++) {
      const at = new Date().toISOString();
      values.push(`(?, ?, ?, 10, ?, 'export', ?, ?, ?, 1)`);
      params.push(pgFolder, `e${k}.csv`, `h${k}`, k % 10 === 0 ? 'failed' : 'done', join(pgFolder, 'work', `e${k}.csv`), at, at);
    }
    await onPg.journal.sql.run(
      `INSERT INTO inputs (folder, name, hash, size, state, kind, work_path, created_at, updated_at, settled) VALUES ${values.join(', ')}`,
      ...params,
    );
  }
  await onPg.journal.sql.run('ANALYZE inputs');
  // The daemon's passes on PostgreSQL read only after the store notifies a change (or every 10 s): once its listening
  // connection is up, an idle pass reads nothing. A pass after a change reads as SQLite's does, a round trip a read.
  const started = Date.now();
  while (!onPg.journal.quiet() && Date.now() - started < 10_000) await onPg.pass();
  if (!onPg.journal.quiet()) throw new Error('the PostgreSQL daemon never became quiet: is its listening connection refused?');
  const [sqlite, idle] = await passCosts(full, onPg);
  const [sqlite2, reading] = await passCosts(full, onPg, 50, () => onPg.journal.noteChange());
  console.log(
    `daemon pass over ${SETTLED.toLocaleString('en')} settled inputs (PostgreSQL on the same machine, loopback)\n` +
      `  SQLite                       ${sqlite.toFixed(3)} ms\n` +
      `  PostgreSQL, idle             ${idle.toFixed(3)} ms (nothing changed: no statement)  ratio ${(idle / sqlite).toFixed(2)}x (target: at most 3x)\n` +
      `  PostgreSQL, after a change   ${reading.toFixed(3)} ms (two reads)                    ratio ${(reading / sqlite2).toFixed(2)}x\n`,
  );
  await onPg.lease.stop();
  await onPg.journal.sql.run(`DROP SCHEMA ${schema} CASCADE`).catch(() => undefined);
  await onPg.journal.close();
} else console.log('daemon pass on PostgreSQL: skipped (set DMC_BENCH_PG_URL, e.g. $(bash scripts/pg-cluster.sh start))\n');
await empty.journal.close();
await full.journal.close();

// 1,000 exports at once on the simulator.
const sim = new Simulator({
  root: join(root, 'sim'),
  accounts: [{ serviceId: '12345678', username: 'dmc', password: 'pw' }],
  sftpPort: 0,
  interval: 1,
  seed: 'bench',
  autoReports: false,
  archiveAfter: 600,
});
await sim.start();
const dir = join(root, 'burst');
mkdirSync(join(dir, 'drop'), { recursive: true });
const yaml = [
  'service: {serviceId: "12345678"}',
  `transport: {protocol: sftp, host: 127.0.0.1, port: ${sim.sftp.port}, username: dmc, password: pw, hostKey: "${sim.fingerprint}"}`,
  'timeouts: {connect: 10, documentsTaken: 60, outcome: 600, poll: 1}',
  `reports: {dir: ${join(dir, 'reports')}}`,
  'daemon:',
  `  journal: ${join(dir, 'journal.db')}`,
  '  stableSeconds: 1',
  '  rescanSeconds: 5',
  '  dropFolders:',
  `    - {path: ${join(dir, 'drop')}, command: ${join(root, 'cmd.yaml')}}`,
].join('\n');
const daemon = new Daemon(await parseConfig(yaml, join(dir, 'dmc.yaml')), silentLogger);
await daemon.start();
const rss = [process.memoryUsage().rss];
const sampler = setInterval(() => rss.push(process.memoryUsage().rss), 500);
const started = Date.now();
for (let i = 0; i < EXPORTS; i++) writeFileSync(join(dir, 'drop', `b-${i}.csv`), `Nom;Mobile;Référence\nDupont;0612345678;B${i}-0\n`);
const firstHalf = [];
for (;;) {
  const s = (await daemon.journal.summary()).inputs;
  if ((s.done ?? 0) + (s.failed ?? 0) >= EXPORTS) break;
  if ((s.done ?? 0) >= EXPORTS / 2 && firstHalf.length === 0) firstHalf.push(Math.max(...rss));
  await new Promise((r) => setTimeout(r, 250));
}
const secs = (Date.now() - started) / 1000;
clearInterval(sampler);
const s = await daemon.journal.summary();
await daemon.stop();
await sim.stop();
const peak = Math.max(...rss) / 1048576;
console.log(
  `daemon: ${EXPORTS.toLocaleString('en')} exports dropped at once (SFTP, simulator)\n  drained in ${secs.toFixed(1)} s = ${(EXPORTS / secs).toFixed(2)} triggers/s (platform limit 5/s)\n  inputs ${JSON.stringify(s.inputs)}, triggers ${JSON.stringify(s.triggers)}\n  RSS at start ${(rss[0] / 1048576).toFixed(0)} MB, peak at half-way ${((firstHalf[0] ?? 0) / 1048576) | 0} MB, peak ${peak.toFixed(0)} MB\n`,
);
rmSync(root, { recursive: true, force: true });
