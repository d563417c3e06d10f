// What installing costs a library user who wants buildTrigger only (issue #19.4): each package is packed, then
// `npm install <tarball> --omit=dev` runs in an empty project, timed: the full `dmc-trigger` (CLI, daemon,
// transports, simulator) as the baseline, and `dmc-trigger-formats` (packages/formats: the library layer alone).
// Printed: time, packages, size, native builds and servers among them, and the ratios light/full. Target: no native
// build and no server in the light install. Needs the npm registry (prints why and skips without it).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const repo = new URL('..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'dmc-bench-install-'));

function install(label, packDir) {
  const out = join(dir, label);
  mkdirSync(out);
  execFileSync('npm', ['pack', '--silent', '--pack-destination', out], { cwd: packDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const tgz = join(
    out,
    readdirSync(out).find((f) => f.endsWith('.tgz')),
  );
  const project = join(out, 'app');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', type: 'module', private: true }));
  const t0 = performance.now();
  const r = spawnSync('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', tgz], { cwd: project, encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.status !== 0) return { error: (r.stderr || '').trim().split('\n').pop() };
  const lock = JSON.parse(readFileSync(join(project, 'package-lock.json'), 'utf8'));
  const pkgs = Object.keys(lock.packages).filter((k) => k.startsWith('node_modules/'));
  const native = pkgs.filter((k) => existsSync(join(project, k, 'binding.gyp'))).map((k) => k.replace(/^.*node_modules\//, ''));
  const servers = ['ftp-srv', 'smtp-server', 'hoodiecrow-imap', 'fastify', 'ssh2'].filter((n) => pkgs.includes(`node_modules/${n}`));
  const mb = Number(execFileSync('du', ['-sm', join(project, 'node_modules')], { encoding: 'utf8' }).split('\t')[0]);
  return { ms, count: pkgs.length, mb, native, servers };
}

try {
  const full = install('full', repo);
  const light = install('light', join(repo, 'packages', 'formats'));
  if (full.error || light.error) {
    console.log(`install: skipped (npm install failed: ${full.error ?? light.error})`);
    process.exit(0);
  }
  const line = (name, r) =>
    `  ${name.padEnd(22)} ${(r.ms / 1000).toFixed(1).padStart(6)} s ${String(r.count).padStart(4)} packages ${String(r.mb).padStart(4)} MB  native: ${r.native.join(', ') || 'none'}; servers: ${r.servers.join(', ') || 'none'}`;
  console.log('install for the library alone (npm install <package> --omit=dev into an empty project, from the registry)');
  console.log(line('dmc-trigger (baseline)', full));
  console.log(line('dmc-trigger-formats', light));
  console.log(
    `  light/full: time ${(light.ms / full.ms).toFixed(2)}x, packages ${(light.count / full.count).toFixed(2)}x, size ${(light.mb / Math.max(1, full.mb)).toFixed(2)}x`,
  );
  const met = light.native.length === 0 && light.servers.length === 0;
  console.log(`  target: no native build and no server in the library-only install: ${met ? 'met' : 'NOT MET'}\n`);
  if (!met) process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
