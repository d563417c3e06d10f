// What installing the package costs a library user who wants buildTrigger only (issue #19.4): `npm pack`, then
// `npm install <tarball> --omit=dev` in an empty project, timed; the packages it brings, the native builds among
// them, and the simulator's servers among them. Needs the npm registry (prints why and skips without it).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const repo = new URL('..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'dmc-bench-install-'));
try {
  const tgz = execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: repo, encoding: 'utf8' }).trim().split('\n').pop();
  const project = join(dir, 'app');
  execFileSync('mkdir', ['-p', project]);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', type: 'module', private: true }));
  const t0 = performance.now();
  const r = spawnSync('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', join(dir, tgz)], { cwd: project, encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.status !== 0) {
    console.log(`install: skipped (npm install failed: ${(r.stderr || '').trim().split('\n').pop()})`);
    process.exit(0);
  }
  const lock = JSON.parse(readFileSync(join(project, 'package-lock.json'), 'utf8'));
  const pkgs = Object.keys(lock.packages).filter((k) => k.startsWith('node_modules/'));
  const native = pkgs.filter((k) => existsSync(join(project, k, 'binding.gyp'))).map((k) => k.replace(/^.*node_modules\//, ''));
  const servers = ['ftp-srv', 'smtp-server', 'hoodiecrow-imap', 'fastify'].filter((n) => pkgs.includes(`node_modules/${n}`));
  const size = execFileSync('du', ['-sm', join(project, 'node_modules')], { encoding: 'utf8' }).split('\t')[0];
  console.log(
    `install for the library alone (npm install dmc-trigger, --omit=dev, into an empty project)\n  ${(ms / 1000).toFixed(1)} s, ${pkgs.length} packages, ${size} MB in node_modules\n  native builds: ${native.join(', ') || 'none'}\n  servers of the simulator and the console: ${servers.join(', ') || 'none'}\n  (what buildTrigger loads: iconv-lite, csv-parse, saxes, yaml, zod)\n`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
