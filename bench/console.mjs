/* global fetch */
// The console's figure (issue #13), printed by `npm run bench`: each page rendered over HTTP with
// 100,000 inputs in the journal (pagination, indexes), median of 7 requests, against /healthz (the
// cost of the HTTP round trip alone). Target: every page under 200 ms.
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import iconv from 'iconv-lite';
import { CRA_HEADER, summarizeCra } from '../dist/formats/cra.js';
import { FindingList } from '../dist/formats/findings.js';
import { readCraFile } from '../dist/files/reports.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal } from '../dist/store/journal.js';
import { startOpsServer } from '../dist/http/ops-server.js';
import { registerConsole } from '../dist/http/console/console.js';
import { silentLogger } from '../dist/transport/logger.js';

const N = Number(process.env.BENCH_CONSOLE_INPUTS ?? 100_000);
const root = mkdtempSync(join(tmpdir(), 'dmc-bench-console-'));
const journal = await Journal.open(join(root, 'journal.db'), 'receiver');
const db = journal.sql.db;
const folders = ['/srv/exports/relances', '/srv/exports/factures'];
const states = ['done', 'done', 'done', 'done', 'failed', 'duplicate'];
const addInput = db.prepare(
  'INSERT INTO inputs (folder, name, hash, size, state, kind, work_path, created_at, updated_at, settled) VALUES (?, ?, ?, 100, ?, ?, ?, ?, ?, 1)',
);
const addTrigger = db.prepare(
  "INSERT INTO triggers (input_id, part, local_path, remote_name, contacts, state, outcome, updated_at, broadcast_id) VALUES (?, 1, '', ?, 10, 'processed', 'processed', '', ?)",
);
const addResult = db.prepare(
  "INSERT INTO contact_results VALUES (?, ?, 'sms', '+33600000000', '', 'RECEIVED', ?, NULL, NULL, ?, ?, 'push', '', '33600000000')",
);
db.transaction(() => {
  for (let i = 1; i <= N; i++) {
    const at = new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString();
    addInput.run(folders[i % 2], `export-${i}.csv`, `h${i}`, states[i % states.length], 'export', `/w/${i}`, at, at);
    addTrigger.run(i, `export-${i}_x.csv`, String(100_000 + i));
  }
  // The last broadcast has 10,000 contacts with statuses over a few hours.
  for (let c = 0; c < 10_000; c++) {
    const date = new Date(Date.UTC(2026, 10, 28, 8) + c * 1000).toISOString().slice(0, 19).replace('T', ' ');
    addResult.run(String(100_000 + N), String(c), c % 10 ? 'delivered' : 'failed', date, `${date}|06|0000`);
  }
})();
// A daily report of 100,000 lines, collected as the daemon collects it (its summary kept in the journal).
const reportName = 'CRA_12345678_2026-11-28.csv';
const reportPath = join(root, reportName);
{
  const lines = [CRA_HEADER.join(';')];
  for (let c = 0; c < 100_000; c++) lines.push(`${100_000 + N};${c};R${c};Nom;Prénom;${c % 10 ? 'Reçu' : 'Numéro erroné'};+33600000000;2026/11/28 10:00:00;1`);
  writeFileSync(reportPath, iconv.encode(`${lines.join('\n')}\n`, 'latin1'));
  const records = [];
  for await (const r of readCraFile(reportPath, new FindingList(0))) records.push(r);
  const summary = await summarizeCra(
    (async function* () {
      yield* records;
    })(),
  );
  await journal.setReportSummary(reportName, statSync(reportPath).size, summary);
  await journal.setReport({ name: reportName, size: statSync(reportPath).size, state: 'acked', local_path: reportPath });
}
const ops = await startOpsServer({
  host: '127.0.0.1',
  port: 0,
  logger: silentLogger,
  source: { journal, passWithinSeconds: 300, lastPassAt: () => Date.now(), push: () => undefined },
  register: (app, o) =>
    registerConsole(app, {
      journal,
      logger: silentLogger,
      token: 'bench-token-0123456789',
      tokenFile: join(root, 'token'),
      authHeader: 'X-Bench-User',
      folders,
      wake: () => undefined,
      account: o.account,
      lastPassAt: () => Date.now(),
    }),
});
const headers = { 'X-Bench-User': 'bench' };
const time = async (path) => {
  const ms = [];
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    const r = await fetch(`${ops.origin}${path}`, { headers });
    await r.text();
    if (r.status !== 200) throw new Error(`${path}: ${r.status}`);
    ms.push(performance.now() - t0);
  }
  return ms.sort((a, b) => a - b)[3];
};
const base = await time('/healthz');
console.log(`console: ${N.toLocaleString('en')} inputs in the journal, median of 7 requests (HTTP round trip alone, /healthz: ${base.toFixed(1)} ms)`);
let worst = 0;
for (const p of [
  '/',
  '/inputs',
  `/inputs?page=${Math.floor(N / 50)}`,
  '/inputs?state=failed',
  '/inputs?name=export-99999',
  '/inputs?date=2026-01-15&folder=%2Fsrv%2Fexports%2Frelances',
  `/inputs/${Math.floor(N / 2)}`,
  '/broadcasts',
  `/broadcasts?page=${Math.floor(N / 50)}`,
  `/broadcasts/${100_000 + N}`,
  '/reports',
  `/reports/${reportName}`,
]) {
  const ms = await time(p);
  worst = Math.max(worst, ms);
  console.log(`  ${p.padEnd(60)} ${ms.toFixed(1).padStart(7)} ms`);
}
console.log(`  slowest page ${worst.toFixed(1)} ms: target < 200 ms: ${worst < 200 ? 'met' : 'NOT MET'}\n`);
await ops.close();
await journal.close();
rmSync(root, { recursive: true, force: true });
