import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FINDING_CODES } from '../../src/formats/findings.js';

const root = new URL('../../', import.meta.url).pathname;

describe('docs', () => {
  it('docs/formats.md generated sections match the code tables (run `npm run docs`)', async () => {
    // @ts-expect-error: plain ESM script without types
    const { generate } = (await import('../../scripts/formats-doc.mjs')) as { generate(t: string): string };
    const text = readFileSync(join(root, 'docs/formats.md'), 'utf8');
    expect(generate(text) === text, 'docs/formats.md is stale: run `npm run docs`').toBe(true);
  });

  it('docs/operations.md shows the state machine of src/store/states.ts (run `npm run docs`)', async () => {
    // @ts-expect-error: plain ESM script without types
    const { generate } = (await import('../../scripts/operations-doc.mjs')) as { generate(t: string): string };
    const text = readFileSync(join(root, 'docs/operations.md'), 'utf8');
    expect(text).toContain('<!-- generated:states -->');
    expect(text).toContain('<!-- generated:restart -->');
    expect(generate(text) === text, 'docs/operations.md is stale: run `npm run docs`').toBe(true);
  });

  it('every finding code is raised somewhere in the source, and every code raised is in the table', () => {
    const files: string[] = [];
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true }))
        if (e.isDirectory()) walk(join(d, e.name));
        else if (e.name.endsWith('.ts')) files.push(join(d, e.name));
    };
    walk(join(root, 'src'));
    const src = files.map((f) => readFileSync(f, 'utf8')).join('\n');
    for (const code of Object.keys(FINDING_CODES)) expect(src.includes(`'${code}'`), code).toBe(true);
    const used = new Set([...src.matchAll(/'([EW]_[A-Z0-9_]+)'/g)].map((m) => m[1]!));
    for (const code of used) expect(Object.keys(FINDING_CODES), code).toContain(code);
  });

  it('docs/cli.md documents every command and option the CLI has', () => {
    const cli = readFileSync(join(root, 'docs/cli.md'), 'utf8');
    // Every command's definition is in src/cli/commands.ts (the implementations load when their command runs).
    const sources = readFileSync(join(root, 'src/cli/commands.ts'), 'utf8');
    const commands = [...sources.matchAll(/\.command\('([a-z0-9-]+)'\)/g)].map((m) => m[1]!);
    const options = [...sources.matchAll(/\.(?:required)?[oO]ption\('(--[a-z-]+)/g)].map((m) => m[1]!);
    expect(commands.length).toBeGreaterThanOrEqual(15);
    expect(options.length).toBeGreaterThanOrEqual(50);
    for (const c of commands) expect(cli, c).toMatch(new RegExp(`\\b${c}\\b`));
    for (const o of options) expect(cli, o).toContain(o);
  });
});
