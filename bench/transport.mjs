// Transport benchmark: uploads of 200 MB and 15 MB on loopback with the
// project's transport and, in the same run, OpenSSH's `sftp` client and
// `curl --ftp-port` (active mode), against the interop servers
// (scripts/interop-servers.sh start). Each figure: median of 3, connection
// setup included on both sides.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync, createReadStream } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../dist/config/index.js';
import { createTransport, silentLogger } from '../dist/transport/index.js';

const envPath = process.env.DMC_INTEROP_ENV ?? '/tmp/dmc-interop/env.json';
if (!existsSync(envPath)) {
  console.log(`transport benchmark skipped: no interop servers (${envPath}). Start them with: sudo bash scripts/interop-servers.sh start`);
  process.exit(0);
}
const e = JSON.parse(readFileSync(envPath, 'utf8'));
const dir = new URL('./out/transport/', import.meta.url).pathname;
mkdirSync(dir, { recursive: true });
const remoteDir = `DMC_${e.serviceId}/in/processing`;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

function file(mb) {
  const p = join(dir, `blob-${mb}.bin`);
  if (!existsSync(p) || statSync(p).size !== mb * 1024 * 1024) {
    const chunk = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 2654435761) >>> 24;
    writeFileSync(p, Buffer.concat(Array.from({ length: mb }, () => chunk)));
  }
  return p;
}

async function project(protocol, path, remote) {
  const cfg = await parseConfig(
    `service: {serviceId: "${e.serviceId}"}\ntransport: {protocol: ${protocol}, host: ${e.host}, port: ${protocol === 'sftp' ? e.sshPort : e.ftpPort}, username: ${e.user}, password: "\${PW}"${protocol === 'sftp' ? `, hostKey: "${e.hostKey}"` : ''}}\ntimeouts: {transfer: 600}\n`,
    '/tmp/bench.yaml',
    { PW: e.password },
  );
  const t0 = process.hrtime.bigint();
  const t = createTransport(cfg, silentLogger);
  await t.connect();
  await t.upload(createReadStream(path, { highWaterMark: 256 * 1024 }), remote);
  await t.close();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function timed(cmd, args, input) {
  const t0 = process.hrtime.bigint();
  execFileSync(cmd, args, { input, stdio: ['pipe', 'ignore', 'pipe'] });
  return Number(process.hrtime.bigint() - t0) / 1e6;
}
const sftpCli = (path, remote) =>
  timed(
    'sftp',
    [
      '-q',
      '-i',
      e.clientKey,
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-P',
      String(e.sshPort),
      '-b',
      '-',
      `${e.user}@${e.host}`,
    ],
    `put ${path} ${remote}\n`,
  );
const curlActive = (path, remote) =>
  timed('curl', ['-s', '-S', '--ftp-port', e.host, '-T', path, `ftp://${e.user}:${e.password}@${e.host}:${e.ftpPort}/${remote}`]);

async function median(fn) {
  const xs = [];
  for (let i = 0; i < RUNS; i++) xs.push(await fn(i));
  xs.sort((a, b) => a - b);
  return xs[Math.floor(xs.length / 2)];
}

console.log(`transport: loopback uploads, median of ${RUNS}, connection setup included\n`);
const results = [];
for (const mb of [200, 15]) {
  const path = file(mb);
  for (const [label, protocol, baseline, baseName, target] of [
    ['SFTP', 'sftp', sftpCli, 'OpenSSH sftp', 0.9],
    ['active FTP', 'ftp', curlActive, 'curl --ftp-port', 0.8],
  ]) {
    const remote = (who, i) => `${remoteDir}/bench-${who}-${mb}-${i}.bin`;
    const p = await median((i) => project(protocol, path, remote('p', i)));
    const b = await median((i) => baseline(path, remote('b', i)));
    const ratio = mb / p / (mb / b);
    results.push({ label, mb, projectMBs: (mb * 1000) / p, baselineMBs: (mb * 1000) / b, ratio });
    console.log(
      `${label} ${mb} MB: project ${((mb * 1000) / p).toFixed(0)} MB/s, ${baseName} ${((mb * 1000) / b).toFixed(0)} MB/s, ratio ${ratio.toFixed(2)}x (target >= ${target}x: ${ratio >= target ? 'met' : 'NOT MET'})`,
    );
    rmSync(join(e.home, remoteDir), { recursive: true, force: true });
    mkdirSync(join(e.home, remoteDir), { recursive: true });
    execFileSync('chown', [`${e.user}:${e.user}`, join(e.home, remoteDir)]);
  }
}
writeFileSync(join(dir, 'results.json'), JSON.stringify(results, null, 2));
