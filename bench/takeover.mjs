// Takeover (issue #20): two daemons (nodes a and b) on one PostgreSQL journal with the default lease settings
// (TTL 6 s, margin 1 s, renewed every 2 s), exports flowing; the leader is SIGKILLed at a random point of its
// renewal cycle while work is pending on its account. Measured: from the kill to the standby's first request to
// the account's server (the SFTP server's own log: each node logs in under a login of its own). Ten kills, the
// killed node started again as standby each time. Targets: median under 10 s, worst under 15 s.
// Needs PostgreSQL: DMC_TEST_PG_URL (scripts/pg-cluster.sh start); skips without.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { accountPaths } from '../dist/simulator/platform.js';
import { startSftpServer } from '../dist/simulator/sftp-server.js';
import { Simulator } from '../dist/simulator/simulator.js';

const url = process.env.DMC_TEST_PG_URL;
if (!url) {
  console.log('takeover benchmark skipped: no PostgreSQL (DMC_TEST_PG_URL unset): export DMC_TEST_PG_URL=$(bash scripts/pg-cluster.sh start)');
  process.exit(0);
}
const KILLS = Number(process.env.BENCH_KILLS ?? 10);
const cli = new URL('../dist/cli/main.js', import.meta.url).pathname;
const schema = `bench_${randomBytes(4).toString('hex')}`;
const root = mkdtempSync(join(tmpdir(), 'dmc-bench-takeover-'));
const account = { serviceId: '12345678', username: 'dmc', password: 'pw' };
const sim = new Simulator({ root: join(root, 'sim'), accounts: [account], interval: 0.5, seed: 'takeover', autoReports: false });
await sim.start();
const firstOp = new Map();
const sftp = await startSftpServer({
  host: '127.0.0.1',
  port: 0,
  accounts: ['a', 'b'].map((n) => ({ username: `dmc-${n}`, password: 'pw', root: accountPaths(join(root, 'sim'), account).home })),
  gate: (p) => {
    if (p.phase === 'before' && firstOp.has(p.user) && firstOp.get(p.user) === undefined) firstOp.set(p.user, performance.now());
  },
});
const drop = join(root, 'drop');
mkdirSync(drop, { recursive: true });
writeFileSync(
  join(root, 'cmd.yaml'),
  'serviceId: "12345678"\nspaceId: 1\nbroadcastName: "Takeover {file}"\nscenarioId: 40\ncallPlanningId: 41\nmessages:\n  - customizableId: 10\n    multimediaType: TXT\n    text: Bonjour\n',
);
writeFileSync(
  join(root, 'dmc.yaml'),
  [
    'service: {serviceId: "12345678"}',
    `transport: {protocol: sftp, host: 127.0.0.1, port: ${sftp.port}, username: "\${DMC_SFTP_USER}", password: pw, hostKey: "${sftp.fingerprint}"}`,
    'timeouts: {poll: 0.5}',
    'daemon:',
    `  journal: "${url}"`,
    `  store: {schema: ${schema}}`,
    '  stableSeconds: 0.3',
    '  rescanSeconds: 2',
    '  rate: 5',
    '  dropFolders:',
    '    - {path: drop, command: cmd.yaml}',
  ].join('\n'),
);
const admin = new pg.Client({ connectionString: url });
await admin.connect();
const leader = async () =>
  (await admin.query(`SELECT holder FROM ${schema}.dmc_leases WHERE account = '12345678' AND expires_at > now()`).catch(() => ({ rows: [] }))).rows[0]?.holder;
const nodes = new Map();
const start = (name) => {
  const p = spawn(process.execPath, [cli, 'daemon', '--config', join(root, 'dmc.yaml'), '--log-level', 'error'], {
    cwd: root,
    env: { ...process.env, DMC_NODE: name, DMC_SFTP_USER: `dmc-${name}` },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  nodes.set(name, p);
};
const until = async (cond, ms) => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};
const times = [];
let dropped = 0;
try {
  start('a');
  await until(async () => (await leader()) === 'a', 30_000);
  start('b');
  for (let i = 0; i < KILLS; i++) {
    const l = await leader();
    const other = l === 'a' ? 'b' : 'a';
    // Work pending on the account: exports the leader is taking and sending when it dies.
    for (let k = 0; k < 30; k++) writeFileSync(join(drop, `t-${dropped++}.csv`), `Nom;Mobile;Référence\nDupont;0612345678;TK${dropped}\n`);
    await new Promise((r) => setTimeout(r, 500 + Math.random() * 2000));
    firstOp.set(`dmc-${other}`, undefined);
    const victim = nodes.get(l);
    victim.kill('SIGKILL');
    const t0 = performance.now();
    await new Promise((r) => (victim.exitCode !== null || victim.signalCode ? r() : victim.once('exit', r)));
    await until(() => firstOp.get(`dmc-${other}`) !== undefined, 60_000);
    times.push(firstOp.get(`dmc-${other}`) - t0);
    firstOp.delete(`dmc-${other}`);
    start(l);
    await until(async () => (await leader()) === other, 30_000);
  }
} finally {
  for (const p of nodes.values()) p.kill('SIGKILL');
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
  await admin.end();
  await sftp.close();
  await sim.stop();
  rmSync(root, { recursive: true, force: true });
}
const sorted = [...times].sort((a, b) => a - b);
const median = sorted[Math.floor(sorted.length / 2)] / 1000;
const worst = sorted.at(-1) / 1000;
console.log(
  `takeover after SIGKILL of the leader, work pending (${KILLS} kills, two daemons, default lease: TTL 6 s, margin 1 s): from the kill to the standby's first request to the server: median ${median.toFixed(1)} s, worst ${worst.toFixed(1)} s, best ${(sorted[0] / 1000).toFixed(1)} s\n  target median < 10 s: ${median < 10 ? 'met' : 'NOT MET'}\n  target worst < 15 s: ${worst < 15 ? 'met' : 'NOT MET'}\n`,
);
