// The push receiver's figures (issue #12), printed by `npm run bench`:
// 1. the most statuses per second over loopback (32 concurrent clients posting
//    as fast as answered, 1 and 10 statuses per post), against a baseline: a
//    bare node:http server answering 200 at once (the cost of HTTP alone) in the
//    same kind of child process; and the latency at the target's load: posts
//    sent on a fixed schedule at 2,000 statuses/s (open loop, after 2 s of
//    warm-up), each post's latency counted from when it was due, so that a
//    stalled receiver is charged for the posts it held back (a closed loop at
//    its limit measures its queue instead);
// 2. durability: the receiver SIGKILLed under that load; statuses answered
//    200 against statuses found in the journal (lost must be 0);
// 3. on PostgreSQL (DMC_TEST_PG_URL; issue #20): one receiver, then two side by
//    side on one schema with the load spread over both (lost must be 0); the
//    statuses are those of broadcasts the journal sent (5,000 contacts each, a
//    trigger each holding their reference), as in production;
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

/** Contacts per broadcast: statuses come for campaigns of many contacts. */
const PER_BROADCAST = 5000;

/** Status k of post n: a contact of its own, in broadcast `B<n*10+k / PER_BROADCAST>`. */
function element(n, k) {
  const contact = n * 10 + k;
  const broadcast = Math.floor(contact / PER_BROADCAST);
  return {
    medium: 'sms',
    to: `+336${String(contact).padStart(8, '0')}`,
    status: 'SENT',
    callId: String(contact),
    broadcastId: String(broadcast),
    contactId: String(contact),
    refExterne: `B${broadcast}`,
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
function postOnce(url, body, via = agent) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent: via, headers: { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(body) } }, (res) => {
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

const TARGET_RATE = 2000;
/** The schedule's posts never wait for a free socket on the client's side. */
const pacedAgent = new http.Agent({ keepAlive: true, maxSockets: 512 });

/**
 * Posts `perPost` statuses at a time on a fixed schedule, `rate` statuses/s for
 * `seconds` after 2 s of warm-up (to url i modulo their number); each latency
 * runs from when its post was due, not from when it left.
 */
async function paced(url, perPost, rate, seconds, collect = false) {
  const urls = Array.isArray(url) ? url : [url];
  const perSecond = rate / perPost;
  let n = 0;
  const run = async (secs, measure) => {
    const lat = [];
    const ackedKeys = [];
    let acked = 0;
    const inflight = [];
    const t0 = performance.now();
    for (let i = 0; i < Math.round(perSecond * secs); i++) {
      const due = t0 + (i * 1000) / perSecond;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const els = Array.from({ length: perPost }, (_, k) => element(n, k));
      const target = urls[n++ % urls.length];
      inflight.push(
        postOnce(target, writePushReport('1', els), pacedAgent).then(
          (status) => {
            lat.push(performance.now() - due);
            if (status !== 200) return;
            acked += perPost;
            if (collect && measure) for (const e of els) ackedKeys.push(`${e.broadcastId}/${e.contactId}`);
          },
          () => lat.push(Infinity),
        ),
      );
    }
    await Promise.all(inflight);
    const secsTaken = (performance.now() - t0) / 1000;
    lat.sort((a, b) => a - b);
    const pct = (p) => lat[Math.min(lat.length - 1, Math.floor((lat.length * p) / 100))] ?? NaN;
    return { perSecond: acked / secsTaken, p50: pct(50), p99: pct(99), ackedKeys };
  };
  await run(2, false);
  return run(seconds, true);
}

/** A paced run against the target: every status answered at the rate offered, with p99 under 50 ms (and none lost, when counted). */
function atTarget(r, lost) {
  const met = r.perSecond >= TARGET_RATE * 0.99 && r.p99 < 50 && (lost ?? 0) === 0;
  return (
    `offered ${TARGET_RATE.toLocaleString('en')}/s: answered ${r.perSecond.toFixed(0)}/s, p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms` +
    `  | target >= 2,000/s with p99 < 50 ms${lost === undefined ? '' : ', lost 0'}: ${met ? 'met' : 'NOT MET'}`
  );
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
  const atRate = await paced(`${r.origin}/dmc/status`, perPost, TARGET_RATE, SECONDS);
  r.child.kill('SIGTERM');
  const b = await startChild(['-e', BASELINE], /baseline on (http:\/\/\S+)/);
  const base = await load(`${b.origin}/`, perPost, SECONDS);
  b.child.kill('SIGTERM');
  console.log(
    `  ${String(perPost).padStart(2)} status(es)/post: 32 clients back to back ${project.perSecond.toFixed(0).padStart(6)} statuses/s (p99 ${project.p99.toFixed(1)} ms)` +
      `  | bare http ${base.perSecond.toFixed(0).padStart(6)}/s, p99 ${base.p99.toFixed(1)} ms  | ratio ${(base.perSecond / project.perSecond).toFixed(2)}x` +
      `  | ${atTarget(atRate)}`,
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
  const { Journal } = await import('../dist/store/journal.js');
  const startPg = async (schema) => {
    // The statuses are those of broadcasts this journal sent (a trigger each, holding the reference its contacts carry),
    // as in production: the first status of each links it.
    const j = await Journal.open(pgUrl, 'daemon', { schema });
    if ((await j.summary()).triggers.built === undefined) {
      const input = await j.addInput({ folder: join(root, 'drop'), name: 'campaigns.csv', hash: schema, size: 1, kind: 'export', workDir: join(root, 'work') });
      await j.setInput(input.id, 'working');
      await j.addTriggers(
        input.id,
        Array.from({ length: 200 }, (_, b) => ({
          localPath: join(root, 'work', `c_${b}.csv`),
          remoteName: `c_${b}.csv`,
          contacts: PER_BROADCAST,
          refs: [`B${b}`],
        })),
      );
    }
    await j.close();
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
      const url = await startPg(schema);
      const one = await load(url, perPost, SECONDS);
      const atRate = await paced(url, perPost, TARGET_RATE, SECONDS);
      receivers.pop().kill('SIGTERM');
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      console.log(
        `  PostgreSQL, one receiver, ${String(perPost).padStart(2)} status(es)/post: 32 clients back to back ${one.perSecond.toFixed(0).padStart(6)} statuses/s (p99 ${one.p99.toFixed(1)} ms)` +
          `  | ${atTarget(atRate)}`,
      );
    }
    const schema = `bench_push_two_${process.pid}`;
    const urls = [await startPg(schema), await startPg(schema)];
    const two = await paced(urls, 10, TARGET_RATE, SECONDS, true);
    const found = await admin.query(`SELECT broadcast_id || '/' || contact_id k FROM ${schema}.push_statuses`);
    const inDb = new Set(found.rows.map((r) => r.k));
    const lostTwo = two.ackedKeys.filter((key) => !inDb.has(key)).length;
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    console.log(
      `  PostgreSQL, two receivers side by side, 10 statuses/post: ${two.ackedKeys.length} acknowledged, lost ${lostTwo}  | ${atTarget(two, lostTwo)}`,
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
