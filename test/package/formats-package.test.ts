/**
 * Issue #19.4: library-only use is light. `packages/formats` is the library
 * layer (the root entry and `./formats`) packed alone as
 * `dmc-trigger-formats`: what its compiled files import is exactly what it
 * declares (pure JavaScript), it installs into an empty project with no
 * native build and none of the daemon's, transports' or simulator's
 * packages, its README's example runs there as written, and it writes the
 * same bytes as `dmc-trigger` does.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const repo = new URL('../../', import.meta.url).pathname;
const pkgDir = join(repo, 'packages', 'formats');
const work = mkdtempSync(join(tmpdir(), 'dmc-formats-pack-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const npm = (args: string[], cwd: string): string => execFileSync('npm', args, { cwd, encoding: 'utf8', timeout: 600_000, stdio: ['ignore', 'pipe', 'pipe'] });

/** The bare specifiers (packages, not node: builtins) the compiled files import, statically or lazily. */
function bareImports(dir: string): Set<string> {
  const found = new Set<string>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.js'))
        for (const m of readFileSync(p, 'utf8').matchAll(/(?:from|import\()\s*'([^'.][^']*)'/g)) {
          const spec = m[1]!;
          if (spec.startsWith('node:')) continue;
          found.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
        }
    }
  };
  walk(dir);
  return found;
}

/** The README's js block, importing from `specifier`. */
const readmeExample = (specifier: string): string => {
  const block = /```js\n([\s\S]*?)```/.exec(readFileSync(join(pkgDir, 'README.md'), 'utf8'))?.[1] ?? '';
  expect(block).toContain("from 'dmc-trigger-formats'");
  return block.replace("from 'dmc-trigger-formats'", `from '${specifier}'`);
};

describe('dmc-trigger-formats, the library alone', () => {
  let tarball = '';
  it('packs its compiled library layer, its README and LICENSE; it declares exactly the packages that layer imports', () => {
    // npm pack runs prepack: tsc of ../../src into packages/formats/dist (not the root dist/ other tests run).
    npm(['pack', '--pack-destination', work], pkgDir);
    tarball = join(
      work,
      readdirSync(work).find((f) => f.endsWith('.tgz'))!,
    );
    const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map((f) => f.replace(/^package\//, ''));
    for (const must of ['README.md', 'LICENSE', 'package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/formats/index.js', 'dist/api.js'])
      expect(files).toContain(must);
    expect(files.filter((f) => /^dist\/(daemon|transport|simulator|mail|http|cli|config|results)\//.test(f))).toEqual([]);
    const declared = Object.keys((JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies);
    expect([...bareImports(join(pkgDir, 'dist'))].sort()).toEqual(declared.sort());
    // The same ranges as the main package: one version of each in a project that has both.
    const main = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies;
    const own = (JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies;
    for (const [name, range] of Object.entries(own)) expect(main[name], name).toBe(range);
  }, 300_000);

  it('installs into an empty project with no native build and no server package; its README example runs there and writes what dmc-trigger writes', () => {
    expect(tarball).not.toBe('');
    const project = join(work, 'app');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module' }));
    npm(['install', tarball, '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund'], project);
    const lock = JSON.parse(readFileSync(join(project, 'package-lock.json'), 'utf8')) as { packages: Record<string, unknown> };
    const installed = Object.keys(lock.packages)
      .filter((k) => k.startsWith('node_modules/'))
      .map((k) => k.replace(/^.*node_modules\//, ''))
      .sort();
    // The package, its four dependencies and theirs (iconv-lite: safer-buffer; saxes: xmlchars).
    expect(installed).toEqual(['csv-parse', 'dmc-trigger-formats', 'iconv-lite', 'safer-buffer', 'saxes', 'xmlchars', 'yaml']);
    expect(installed.filter((n) => existsSync(join(project, 'node_modules', n, 'binding.gyp')))).toEqual([]);

    writeFileSync(join(project, 'example.mjs'), readmeExample('dmc-trigger-formats'));
    const light = spawnSync(process.execPath, ['example.mjs'], { cwd: project, encoding: 'utf8', timeout: 60_000 });
    expect(light.status, light.stderr).toBe(0);
    expect(light.stderr).toBe('');
    const viaMain = join(work, 'main');
    mkdirSync(viaMain);
    writeFileSync(join(viaMain, 'example.mjs'), readmeExample(pathToFileURL(join(repo, 'dist', 'index.js')).href));
    const full = spawnSync(process.execPath, ['example.mjs'], { cwd: viaMain, encoding: 'utf8', timeout: 60_000 });
    expect(full.status, full.stderr).toBe(0);
    const built = readFileSync(join(project, 'relance.csv'));
    expect(built.toString('latin1')).toMatch(/^#COMMAND[\s\S]*Relance colis[\s\S]*#CONTACTS[\s\S]*CLI-0001[\s\S]*#END/);
    expect(built.equals(readFileSync(join(viaMain, 'relance.csv')))).toBe(true);
  }, 600_000);
});
