/**
 * What each entry point loads (issue #11): the static import graph of the
 * built modules, followed file by file. `--version` and `--help` load
 * commander and nothing heavy; `build`, `validate` and `convert` load the
 * formats and files layers only; the library's root entry loads no socket
 * library. (The CPU time itself is in `npm run bench`: no timing here.)
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const dist = new URL('../../dist/', import.meta.url).pathname;
const HEAVY = [
  'ssh2',
  'ssh2-sftp-client',
  'basic-ftp',
  'better-sqlite3',
  'imapflow',
  'nodemailer',
  'ftp-srv',
  'smtp-server',
  'hoodiecrow-imap',
  'pino',
  'pino-pretty',
  'chokidar',
  'mailparser',
  'zod',
  'yaml',
];

/** Every module reached by static imports from `entry`: project files and bare package names. */
function graph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    const text = readFileSync(file, 'utf8');
    // Static imports and re-exports only: `import(...)` is what runs later, in the command that needs it.
    for (const m of text.matchAll(/^(?:import|export)\s[^;]*?from\s+'([^']+)'|^import\s+'([^']+)'/gm)) {
      const spec = m[1] ?? m[2]!;
      if (/^(?:import|export)\s+type\s/.test(m[0])) continue;
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec));
      else if (!spec.startsWith('node:')) packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
    }
  };
  visit(entry);
  return { files, packages };
}

describe.runIf(existsSync(join(dist, 'cli/main.js')))('what loads at start-up (issue #11)', () => {
  it('the CLI entry loads commander and no command implementation', () => {
    const g = graph(join(dist, 'cli/main.js'));
    expect([...g.packages]).toEqual(['commander']);
    expect([...g.files].filter((f) => /-command\.js$/.test(f))).toEqual([]);
  });

  it.each(['build', 'validate', 'convert'])('%s loads the formats and files layers only', (name) => {
    const g = graph(join(dist, `cli/${name}-command.js`));
    expect([...g.packages].filter((p) => HEAVY.includes(p) && p !== 'yaml' && p !== 'zod')).toEqual([]);
    expect([...g.files].map((f) => f.slice(dist.length)).filter((f) => !/^(formats|files|cli)\//.test(f))).toEqual([]);
  });

  it('the library root loads the formats and files layers only: no socket library, no logger', () => {
    const g = graph(join(dist, 'index.js'));
    expect([...g.packages].filter((p) => HEAVY.includes(p) && p !== 'yaml' && p !== 'zod')).toEqual([]);
    expect([...g.files].map((f) => f.slice(dist.length)).filter((f) => !/^(formats|files)\/|^(index|api)\.js$/.test(f))).toEqual([]);
  });
});
