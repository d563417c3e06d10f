// The push receiver's figures (issue #12), printed by `npm run bench`:
// 1. sustained statuses per second over loopback, with p50/p99 latency, from a
//    bounded generator (32 concurrent clients, 1 and 10 statuses per post),
//    against a baseline: a bare node:http server answering 200 at once (the
//    cost of HTTP alone) in the same kind of child process;
// 2. durability: the receiver SIGKILLed under that load; statuses answered
//    200 against statuses found in the journal (lost must be 0);
// 3. on PostgreSQL (DMC_TEST_PG_URL; issue #20): one receiver, then two side by
//    side on one schema with the load spread over both (lost must be 0);
// 4. a results file for a 100,000-row export, written from 100,000 statuses:
//    time and peak RSS (a child process), against copying the export.
import { execFileSync, spawn } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { writePushReport } from '../dist/formats/push.js';

const cli = new URL('../dist/cli/main.js', import.meta.url).pathname;
const SECONDS = Number(process.env.BENCH_PUSH_SECONDS ?? 5);
const CLIENTS = 32;
const root = mkdtempSync(join(tmpdir(), 'dmc-bench-push-'));

function element(n, k) {
  return {
    medium: 'sms',
    to: `+336${String(n).padStart(8, '0')}`,
    status: 'SENT',
    callId: `${n}-${k}`,
    broadcastId: String(n),
    contactId: String(k),
    refExterne: '',
    spaceId: '1',
    date: '2026-11-28 10:00:00',
    history: [{ type: 'SENT', date: '2026-11-28 10:00:00', seq: 0 }],
  };
}

async function startChild(args, pattern) {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const origin = await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      const m = pattern.exec(out);
      if (m) resolve(m[1]);
    });
    child.on('exit', () => reject(new Error(`exited: ${out}`)));
  });
  return { child, origin };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });

/** One POST over the keep-alive agent (node:http: lighter than fetch, so the generator is not the bottleneck). */
function postOnce(url, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Posts for `seconds` from CLIENTS loops (loop i to url i modulo their number); returns statuses/s and latency percentiles. */
async function load(url, perPost, seconds, stopAfter, collect = false) {
  const urls = Array.isArray(url) ? url : [url];
  const lat = [];
  let next = 0;
  let acked = 0;
  const ackedKeys = [];
  const end = Date.now() + seconds * 1000;
  let stopped = false;
  const loop = async (_, i) => {
    const url = urls[i % urls.length];
    while (Date.now() < end && !stopped) {
      const n = next++;
      const els = Array.from({ length: perPost }, (_, k) => element(n, k));
      const body = writePushReport('1', els);
      const t0 = performance.now();
      let status;
      try {
        status = await postOnce(url, body);
      } catch {
        return;
      }
      lat.push(performance.now() - t0);
      if (status === 200) {
        acked += perPost;
        if (stopAfter || collect) for (const e of els) ackedKeys.push(`${e.broadcastId}/${e.contactId}`);
      }
      if (stopAfter && acked >= stopAfter.count && !stopped) {
        stopped = true;
        stopAfter.kill();
      }
    }
  };
  const t0 = Date.now();
  await Promise.all(Array.from({ length: CLIENTS }, loop));
  const secs = (Date.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  const pct = (p) => lat[Math.min(lat.length - 1, Math.floor((lat.length * p) / 100))] ?? NaN;
  return { perSecond: acked / secs, p50: pct(50), p99: pct(99), ackedKeys };
}

const BASELINE = `
const http = require('node:http');
const s = http.createServer((req, res) => { req.resume(); req.on('end', () => { res.writeHead(200, {'content-type': 'text/plain'}); res.end('OK\\n'); }); });
s.listen(0, '127.0.0.1', () => console.log('baseline on http://127.0.0.1:' + s.address().port));
`;

writeFileSync(join(root, 'push.yaml'), 'service: {serviceId: "1"}\npush: {listen: "127.0.0.1:0", path: /dmc/status, journal: journal.db}\n');
console.log(`push receiver: ${CLIENTS} concurrent clients for ${SECONDS} s per run, loopback, 2 processes`);
for (const perPost of [1, 10]) {
  rmSync(join(root, 'journal.db'), { force: true });
  const r = await startChild([cli, 'push-receiver', '--config', join(root, 'push.yaml'), '--log-level', 'warn'], /push receiver on (http:\/\/\S+?)\/dmc/);
  const project = await load(`${r.origin}/dmc/status`, perPost, SECONDS);
  r.child.kill('SIGTERM');
  const b = await startChild(['-e', BASELINE], /baseline on (http:\/\/\S+)/);
  const base = await load(`${b.origin}/`, perPost, SECONDS);
  b.child.kill('SIGTERM');
  console.log(
    `  ${String(perPost).padStart(2)} status(es)/post: project ${project.perSecond.toFixed(0).padStart(6)} statuses/s, p50 ${project.p50.toFixed(1)} ms, p99 ${project.p99.toFixed(1)} ms` +
      `  | bare http ${base.perSecond.toFixed(0).padStart(6)}/s, p99 ${base.p99.toFixed(1)} ms  | ratio ${(base.perSecond / project.perSecond).toFixed(2)}x` +
      `  | target >= 2,000/s and p99 < 50 ms: ${project.perSecond >= 2000 && project.p99 < 50 ? 'met' : 'NOT MET'}`,
  );
}

// Durability under load.
rmSync(join(root, 'journal.db'), { force: true });
const k = await startChild([cli, 'push-receiver', '--config', join(root, 'push.yaml'), '--log-level', 'warn'], /push receiver on (http:\/\/\S+?)\/dmc/);
const killed = await load(`${k.origin}/dmc/status`, 5, 30, { count: 20_000, kill: () => k.child.kill('SIGKILL') });
await new Promise((r) => (k.child.exitCode !== null || k.child.signalCode ? r() : k.child.once('exit', r)));
const db = new Database(join(root, 'journal.db'));
const has = db.prepare('SELECT 1 FROM push_statuses WHERE broadcast_id = ? AND contact_id = ?');
const lost = killed.ackedKeys.filter((key) => !has.get(...key.split('/'))).length;
const recorded = db.prepare('SELECT COUNT(*) n FROM push_statuses').get().n;
db.close();
console.log(
  `  SIGKILL under load: ${killed.ackedKeys.length} statuses acknowledged, ${recorded} in the journal after restart, lost ${lost} (target 0: ${lost === 0 ? 'met' : 'NOT MET'})`,
);

// The same on PostgreSQL (issue #20): one receiver, then two side by side on one schema, the load spread over both.
const pgUrl = process.env.DMC_TEST_PG_URL;
if (!pgUrl) console.log('  PostgreSQL: skipped (DMC_TEST_PG_URL unset): export DMC_TEST_PG_URL=$(bash scripts/pg-cluster.sh start)');
else {
  const { default: pg } = await import('pg');
  const admin = new pg.Client({ connectionString: pgUrl });
  await admin.connect();
  const receivers = [];
  const startPg = async (schema) => {
    const cfg = join(root, `${schema}.yaml`);
    writeFileSync(
      cfg,
      `service: {serviceId: "1"}\npush: {listen: "127.0.0.1:0", path: /dmc/status, journal: "${pgUrl}"}\ndaemon: {journal: "${pgUrl}", store: {schema: ${schema}}, dropFolders: [{path: drop, command: cmd.yaml}]}\n`,
    );
    const r = await startChild([cli, 'push-receiver', '--config', cfg, '--log-level', 'warn'], /push receiver on (http:\/\/\S+?)\/dmc/);
    receivers.push(r.child);
    return `${r.origin}/dmc/status`;
  };
  try {
    for (const perPost of [1, 10]) {
      const schema = `bench_push_${perPost}_${process.pid}`;
      const one = await load(await startPg(schema), perPost, SECONDS);
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      console.log(
        `  PostgreSQL, one receiver, ${String(perPost).padStart(2)} status(es)/post: ${one.perSecond.toFixed(0).padStart(6)} statuses/s, p50 ${one.p50.toFixed(1)} ms, p99 ${one.p99.toFixed(1)} ms` +
          `  | target >= 2,000/s and p99 < 50 ms: ${one.perSecond >= 2000 && one.p99 < 50 ? 'met' : 'NOT MET'}`,
      );
    }
    const schema = `bench_push_two_${process.pid}`;
    const urls = [await startPg(schema), await startPg(schema)];
    const two = await load(urls, 10, SECONDS, undefined, true);
    const found = await admin.query(`SELECT broadcast_id || '/' || contact_id k FROM ${schema}.push_statuses`);
    const inDb = new Set(found.rows.map((r) => r.k));
    const lostTwo = two.ackedKeys.filter((key) => !inDb.has(key)).length;
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    console.log(
      `  PostgreSQL, two receivers side by side, 10 statuses/post: ${two.perSecond.toFixed(0).padStart(6)} statuses/s, p99 ${two.p99.toFixed(1)} ms, ${two.ackedKeys.length} acknowledged, lost ${lostTwo}` +
        `  | target: lost 0 and p99 < 50 ms: ${lostTwo === 0 && two.p99 < 50 ? 'met' : 'NOT MET'}`,
    );
  } finally {
    for (const c of receivers) c.kill('SIGTERM');
    await admin.end();
  }
}

// A results file for a 100,000-row export.
const script = new URL('./results-file.mjs', import.meta.url).pathname;
execFileSync(process.execPath, [script, root, 'prepare']);
// The median of three runs, each in a fresh process.
const medianOf = (mode) => {
  const runs = Array.from({ length: 3 }, () => JSON.parse(execFileSync(process.execPath, [script, root, ...(mode ? [mode] : [])], { encoding: 'utf8' })));
  return runs.sort((a, b) => a.ms - b.ms)[1];
};
const res = medianOf();
const copy = medianOf('copy');
console.log(
  `  results file, ${res.rows.toLocaleString('en')} rows from the journal: ${res.ms.toFixed(0)} ms, ${res.rssMB.toFixed(0)} MB peak RSS  | copying the export: ${copy.ms.toFixed(0)} ms, ${copy.rssMB.toFixed(0)} MB` +
    `  | target < 2 s and < 150 MB: ${res.ms < 2000 && res.rssMB < 150 ? 'met' : 'NOT MET'}\n`,
);
rmSync(root, { recursive: true, force: true });
