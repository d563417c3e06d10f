/**
 * First contact (issue #11): `npm start` runs the sandbox. Every sample
 * export, copied where the sandbox says (the `cp` lines it prints), goes
 * through: built, sent, processed; none refused as a duplicate or for its
 * mapping. The console has readable lines only (no JSON), and Ctrl-C ends it.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const repo = new URL('../../', import.meta.url).pathname;
const bin = join(repo, 'dist/cli/main.js');
const dir = mkdtempSync(join(tmpdir(), 'dmc-sandbox-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.runIf(existsSync(bin))('the sandbox (npm start)', () => {
  it('says what to drop where, and every sample export dropped so goes through', async () => {
    const child = spawn(process.execPath, [bin, 'sandbox', '--dir', join(dir, 'sb')], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      out += b.toString();
    });
    const until = async (what: string, cond: () => boolean | Promise<boolean>, ms = 90_000): Promise<void> => {
      const end = Date.now() + ms;
      while (!(await cond())) {
        if (Date.now() > end || child.exitCode !== null) throw new Error(`timed out waiting for ${what}:\n${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const sentIn = (folder: string): string[] => {
      try {
        return readdirSync(join(folder, 'sent'));
      } catch {
        return [];
      }
    };
    try {
      await until('the instructions', () => /Ctrl-C to stop/.test(out));
      const cps = [...out.matchAll(/^\s+cp (\S+) (\S+)\/\s+#/gm)].map((m) => ({ from: resolve(repo, m[1]!), to: resolve(repo, m[2]!) }));
      expect(cps.map((c) => basename(c.from)).sort()).toEqual(readdirSync(join(repo, 'samples/exports')).sort());
      // The welcome export first, then every sample, as the lines say.
      const sms = join(dir, 'sb', 'drop', 'sms');
      await until('the welcome export sent', () => sentIn(sms).includes('bienvenue.csv'));
      for (const c of cps) copyFileSync(c.from, join(c.to, basename(c.from)));
      for (const c of cps) await until(`${basename(c.from)} sent`, () => sentIn(c.to).includes(basename(c.from)));
      for (const c of cps) expect(readdirSync(join(c.to, 'failed')).filter((f) => !f.startsWith('.'))).toEqual([]);
      await until('each processed', () => (out.match(/\[daemon\] outcome #\d+ .*processed/g) ?? []).length >= cps.length + 1);
      // The simulator pushes each status to the daemon's receiver: every export gets its results file within seconds.
      for (const c of cps) await until(`${basename(c.from)}'s results`, () => existsSync(join(c.to, 'results', `${basename(c.from)}.results.csv`)));
      expect(out).toMatch(/pushes each status to http:\/\/127\.0\.0\.1:\d+\/dmc\/status/);
      // One log format: readable lines, never a raw JSON line.
      expect(out.split('\n').filter((l) => l.trimStart().startsWith('{'))).toEqual([]);
    } finally {
      child.kill('SIGINT');
      await new Promise((r) => child.once('exit', r));
    }
    expect(child.exitCode).toBe(0);
    // Issue #19.4: a second start says what it resumed (its ports are new; its journal and folders are not).
    const again = spawn(process.execPath, [bin, 'sandbox', '--dir', join(dir, 'sb')], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    let second = '';
    again.stdout.on('data', (b: Buffer) => {
      second += b.toString();
    });
    try {
      const end = Date.now() + 60_000;
      while (!/Ctrl-C to stop/.test(second) && Date.now() < end && again.exitCode === null) await new Promise((r) => setTimeout(r, 100));
      expect(second).toMatch(/resumed the sandbox in .*sb: its journal holds \d+ input\(s\) \(.*done \d+.*\)/);
      expect(second).not.toMatch(/a first SI export dropped/);
    } finally {
      again.kill('SIGINT');
      await new Promise((r) => again.once('exit', r));
    }
  }, 240_000);
});
