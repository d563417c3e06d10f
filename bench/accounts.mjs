// Several accounts over several nodes (issue #21): 1,000 exports over five accounts (200 each, one contact each),
// dropped at once, drained by three nodes sharing the five accounts on PostgreSQL (`dmc-trigger daemon` with an
// `accounts` list, each node leading its share), against five single-account daemons run side by side (one
// process per account, the same PostgreSQL store). Each account sends at most 5 triggers per second (guide
// §1.1.9), so neither can beat 200 / 5 = 40 s. Measured: the time to drain (every export done), each node's
// resident memory (sampled every 250 ms: once the nodes share the accounts, at a quarter of the drain, at the
// end). Targets: the nodes drain within 1.25x the time of the side-by-side daemons; each node's memory flat (at
// the end at most 1.25x what it was at a quarter of the drain).
// Needs PostgreSQL: DMC_TEST_PG_URL (scripts/pg-cluster.sh start); skips without.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Simulator } from '../dist/simulator/simulator.js';

const url = process.env.DMC_TEST_PG_URL;
if (!url) {
  console.log('accounts benchmark skipped: no PostgreSQL (DMC_TEST_PG_URL unset): export DMC_TEST_PG_URL=$(bash scripts/pg-cluster.sh start)');
  process.exit(0);
}
const EXPORTS = Number(process.env.BENCH_ACCOUNT_EXPORTS ?? 1000);
const ACCOUNTS = 5;
const NODES = 3;
const cli = new URL('../dist/cli/main.js', import.meta.url).pathname;
const admin = new pg.Pool({ connectionString: url, max: 2 });

const rssMB = (pid) => {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
  } catch {
    return NaN;
  }
};
const until = async (what, ok, ms) => {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

/** One layout run: `nodes` processes (each with its config and node name), the drain of EXPORTS exports measured. */
async function runLayout(label, layout) {
  const tag = randomBytes(3).toString('hex');
  const root = mkdtempSync(join(tmpdir(), `dmc-bench-accounts-${label}-`));
  const ids = Array.from({ length: ACCOUNTS }, (_, i) => `8${tag.replace(/[a-f]/g, '7')}${i}`.slice(0, 9));
  const schemas = ids.map((id) => `bench_acc_${label}_${id}`);
  const sim = new Simulator({
    root: join(root, 'sim'),
    accounts: ids.map((id, i) => ({ serviceId: id, username: `u${i}`, password: `p${i}`, spaceId: String(i + 1) })),
    sftpPort: 0,
    interval: 0.3,
    seed: `bench-${label}`,
    autoReports: false,
  });
  await sim.start();
  const procs = [];
  try {
    const account = (i) => ({
      id: ids[i],
      transport: `{host: 127.0.0.1, port: ${sim.sftp.port}, username: u${i}, password: p${i}, hostKey: "${sim.fingerprint}"}`,
      folder: `{path: drop/${ids[i]}, command: c${i}.yaml, map: {EXTERNALREFERENCE: Ref}}`,
    });
    ids.forEach((id, i) => {
      mkdirSync(join(root, 'drop', id), { recursive: true });
      writeFileSync(
        join(root, `c${i}.yaml`),
        `serviceId: "${id}"\nspaceId: ${i + 1}\nbroadcastName: "B {file}"\nscenarioId: 40\ncallPlanningId: 41\nmessages:\n  - customizableId: 10\n    multimediaType: TXT\n    text: Bonjour\n`,
      );
    });
    const shared = ['timeouts: {poll: 0.5}', `daemon: {journal: "${url}", store: {poolSize: 3}, stableSeconds: 0.3, rescanSeconds: 2}`];
    const configs =
      layout === 'nodes'
        ? [
            [
              ...shared,
              'accounts:',
              ...ids.flatMap((_, i) => {
                const a = account(i);
                return [
                  `  - service: {serviceId: "${a.id}"}`,
                  `    transport: ${a.transport}`,
                  `    daemon: {store: {schema: ${schemas[i]}}, dropFolders: [${a.folder}]}`,
                ];
              }),
            ],
          ]
        : ids.map((_, i) => {
            const a = account(i);
            return [
              `service: {serviceId: "${a.id}"}`,
              `transport: ${a.transport}`,
              'timeouts: {poll: 0.5}',
              `daemon: {journal: "${url}", store: {poolSize: 3, schema: ${schemas[i]}}, stableSeconds: 0.3, rescanSeconds: 2, dropFolders: [${a.folder}]}`,
            ];
          });
    configs.forEach((lines, k) => writeFileSync(join(root, `dmc-${k}.yaml`), lines.join('\n')));
    const count = async (state) => {
      let n = 0;
      for (const s of schemas)
        n += Number((await admin.query(`SELECT count(*) n FROM ${s}.inputs WHERE state = $1`, [state]).catch(() => ({ rows: [{ n: 0 }] }))).rows[0].n);
      return n;
    };
    const leaders = async () => {
      const held = [];
      for (const [i, s] of schemas.entries()) {
        const r = await admin.query(`SELECT holder FROM ${s}.dmc_leases WHERE account = $1 AND expires_at > now()`, [ids[i]]).catch(() => ({ rows: [] }));
        if (r.rows[0]) held.push(r.rows[0].holder);
      }
      return held;
    };
    const processes =
      layout === 'nodes' ? Array.from({ length: NODES }, (_, k) => ({ config: 0, node: `n${k + 1}` })) : ids.map((_, k) => ({ config: k, node: 'solo' }));
    for (const p of processes) {
      const child = spawn(process.execPath, [cli, 'daemon', '--config', join(root, `dmc-${p.config}.yaml`), '--log-level', 'error'], {
        cwd: root,
        env: { ...process.env, DMC_NODE: p.node },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      procs.push(child);
      // The nodes start one after another, as a rolling deployment does; the first leads everything until the others come.
      if (layout === 'nodes') await new Promise((r) => setTimeout(r, 1000));
    }
    // Ready: every account led; with nodes, each node at its share (ceil(5/3) = 2).
    await until(
      'every account led',
      async () => {
        const held = await leaders();
        if (held.length !== ACCOUNTS) return false;
        if (layout !== 'nodes') return true;
        const share = Math.ceil(ACCOUNTS / NODES);
        return processes.every((p) => held.filter((h) => h === p.node).length <= share);
      },
      60_000,
    );
    const rssReady = procs.map((c) => rssMB(c.pid));
    for (let k = 0; k < EXPORTS; k++) {
      const i = k % ACCOUNTS;
      writeFileSync(
        join(root, 'drop', ids[i], `e${k}.csv`),
        `Mobile;Ref\n06 ${String(10 + (k % 90))} ${String(Math.floor(k / 90) % 100).padStart(2, '0')} 00 ${String(k % 100).padStart(2, '0')};B${k}\n`,
      );
    }
    const t0 = performance.now();
    const peak = procs.map(() => 0);
    const sampler = setInterval(() => procs.forEach((c, k) => (peak[k] = Math.max(peak[k], rssMB(c.pid)))), 250);
    let rssQuarter;
    await until(
      'every export done',
      async () => {
        const done = await count('done');
        if (!rssQuarter && done >= EXPORTS / 4) rssQuarter = procs.map((c) => rssMB(c.pid));
        return done >= EXPORTS;
      },
      600_000,
    );
    const ms = performance.now() - t0;
    clearInterval(sampler);
    const rssEnd = procs.map((c) => rssMB(c.pid));
    return { label, ms, processes: procs.length, rssReady, rssQuarter, rssEnd, peak };
  } finally {
    for (const c of procs) c.kill('SIGTERM');
    await Promise.all(procs.map((c) => new Promise((r) => (c.exitCode !== null || c.signalCode ? r() : c.once('exit', r)))));
    for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`).catch(() => undefined);
    await sim.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

try {
  const nodes = await runLayout('nodes', 'nodes');
  const solo = await runLayout('solo', 'solo');
  const mb = (xs) => xs.map((x) => (x ?? NaN).toFixed(0)).join(', ');
  const total = (xs) => xs.reduce((a, b) => a + b, 0).toFixed(0);
  const ratio = nodes.ms / solo.ms;
  const flat = nodes.rssEnd.every((end, k) => end <= 1.25 * nodes.rssQuarter[k]);
  const minimum = EXPORTS / ACCOUNTS / 5;
  console.log(
    `${EXPORTS.toLocaleString('en')} exports over ${ACCOUNTS} accounts (each at most 5 triggers/s: ${minimum.toFixed(0)} s at best)\n` +
      `  ${NODES} nodes sharing the accounts: drained in ${(nodes.ms / 1000).toFixed(1)} s; RSS per node (MB) ready ${mb(nodes.rssReady)}, at a quarter ${mb(nodes.rssQuarter)}, at the end ${mb(nodes.rssEnd)}, peak ${mb(nodes.peak)} (${total(nodes.peak)} MB in all)\n` +
      `  ${ACCOUNTS} single-account daemons side by side: drained in ${(solo.ms / 1000).toFixed(1)} s; RSS per daemon (MB) at the end ${mb(solo.rssEnd)}, peak ${mb(solo.peak)} (${total(solo.peak)} MB in all)\n` +
      `  ratio ${ratio.toFixed(2)}x   target <= 1.25x: ${ratio <= 1.25 ? 'met' : 'NOT MET'}\n` +
      `  target each node's RSS flat (end <= 1.25x at a quarter): ${flat ? 'met' : 'NOT MET'}\n`,
  );
} finally {
  await admin.end();
}
