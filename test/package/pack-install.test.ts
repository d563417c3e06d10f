/**
 * The package as a user gets it (issue #11): `npm pack` of this clone,
 * installed into an empty project (from npm's cache, as after `npm ci`),
 * then `npx dmc-trigger --version` and `demo`, and a library example run
 * from that project. The tarball holds what it should and nothing else.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const repo = new URL('../../', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'dmc-pack-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const npm = (args: string[], cwd: string, timeout = 600_000): string =>
  execFileSync('npm', args, { cwd, encoding: 'utf8', timeout, stdio: ['ignore', 'pipe', 'pipe'] });

describe('the packed package', () => {
  it('packs dist (with types), templates, samples, docs, examples, LICENSE and README; no tests, no var/, no source maps', () => {
    const listing = JSON.parse(npm(['pack', '--dry-run', '--json', '--ignore-scripts'], repo)) as { files: { path: string }[] }[];
    const files = listing[0]!.files.map((f) => f.path);
    for (const must of [
      'LICENSE',
      'README.md',
      'package.json',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/cli/main.js',
      'dist/transport/index.d.ts',
      'templates/sms.yaml',
      'samples/exports/crm-semicolon.csv',
      'docs/library.md',
      'examples/library/build-from-records.mjs',
    ])
      expect(files).toContain(must);
    expect(files.filter((f) => /^(test|var|src|bench|scripts)\//.test(f) || f.endsWith('.map'))).toEqual([]);
  });

  it('installs into an empty project; npx dmc-trigger and a library example work there', () => {
    // dist was built by pretest: no prepare here (it would rewrite dist/ while other tests run it).
    npm(['pack', '--ignore-scripts', '--pack-destination', work], repo);
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'))!;
    const project = join(work, 'user-project');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'user-project', version: '1.0.0', private: true, type: 'module' }));
    npm(['install', join(work, tarball), '--prefer-offline', '--no-audit', '--no-fund'], project);
    const version = spawnSync('npx', ['--no-install', 'dmc-trigger', '--version'], { cwd: project, encoding: 'utf8', timeout: 60_000 });
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const demo = spawnSync('npx', ['--no-install', 'dmc-trigger', 'demo', '--dir', join(work, 'demo')], { cwd: project, encoding: 'utf8', timeout: 120_000 });
    expect(demo.status, `${demo.stdout}\n${demo.stderr}`).toBe(0);
    expect(demo.stdout).toMatch(/demo complete in/);
    copyFileSync(join(repo, 'examples/library/build-from-records.mjs'), join(project, 'example.mjs'));
    const example = spawnSync(process.execPath, ['example.mjs', work], { cwd: project, encoding: 'utf8', timeout: 60_000 });
    expect(example.status, example.stderr).toBe(0);
    expect(example.stdout).toMatch(/^built .*relance\.csv: 2 contacts/);
  }, 900_000);
});
