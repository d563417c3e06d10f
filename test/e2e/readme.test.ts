/**
 * Issue #19.4: every command of the README's "Use" section runs as written,
 * in the order given, in a folder laid out as the repository is after
 * `npm ci` (templates/, samples/, the package's bin). The simulator line is
 * started first and left running, the daemon line is stopped with SIGINT
 * once an export went through, as a user in a terminal would.
 *
 * The README's ports are the simulator's defaults, the same as the real
 * servers the interop tests run on 127.0.0.1: the commands run in a network
 * namespace of their own (`unshare -n`, root: CI), with its own loopback.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const repo = new URL('../../', import.meta.url).pathname;

/** The lines of the README's first sh block after "## Use". */
export function readmeUseCommands(): string[] {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  const use = readme.slice(readme.indexOf('## Use\n'));
  const block = /```sh\n([\s\S]*?)```/.exec(use)?.[1] ?? '';
  return block.split('\n').filter((l) => l.trim() !== '');
}

const canNamespace = ((): boolean => {
  if (process.getuid?.() !== 0) return false;
  return spawnSync('unshare', ['-n', 'ip', 'link', 'set', 'lo', 'up'], { stdio: 'ignore' }).status === 0;
})();
if (!canNamespace) console.log('readme.test: skipped: needs root and unshare -n (a loopback of its own for the simulator default ports); CI runs it');

describe.skipIf(!canNamespace)("the README's commands, as written", () => {
  it('run in order against the simulator, each exiting 0', () => {
    const lines = readmeUseCommands();
    expect(lines.length).toBeGreaterThan(8);
    expect(lines.every((l) => l.startsWith('npx dmc-trigger '))).toBe(true);
    const [simulator, ...rest] = lines;
    expect(simulator).toMatch(/^npx dmc-trigger simulator .*until Ctrl-C/);
    const dir = mkdtempSync(join(tmpdir(), 'dmc-readme-'));
    try {
      for (const d of ['templates', 'samples']) symlinkSync(join(repo, d), join(dir, d));
      mkdirSync(join(dir, 'node_modules', '.bin'), { recursive: true });
      symlinkSync(join(repo, 'dist', 'cli', 'main.js'), join(dir, 'node_modules', '.bin', 'dmc-trigger'));
      const strip = (l: string): string => l.replace(/\s+#.*$/, '');
      // Bounded waits: a line of the script that waits gives up after 60 s and fails the run.
      const wait = (what: string, cond: string): string =>
        `for i in $(seq 600); do ${cond} && break; sleep 0.1; done; ${cond} || { echo "timed out waiting for ${what}" >&2; cat sim.log >&2; test -e daemon.log && cat daemon.log >&2; exit 1; }`;
      const script = [
        // Job control: each background command in a process group of its own, as in a terminal, where Ctrl-C reaches npx and the node it runs.
        'set -euo pipefail -m',
        'ip link set lo up',
        `cd ${JSON.stringify(dir)}`,
        `${strip(simulator!)} > sim.log 2>&1 &`,
        'SIM=$!',
        "trap 'kill -INT -- -$SIM 2>/dev/null; wait $SIM 2>/dev/null || true' EXIT",
        wait('the simulator', "grep -q 'client config' sim.log"),
        ...rest.flatMap((line) => {
          const cmd = strip(line);
          const say = `echo "== ${cmd.replace(/"/g, '\\"')}"`;
          if (/\breports fetch\b/.test(cmd))
            // The user waits for the platform's report (--report-every): one holding the fax's results.
            return [say, wait('a report with results', "grep -Eq 'report out/CRA_[^ ]+ written \\([1-9][0-9]* results\\)' sim.log"), cmd];
          if (/ daemon /.test(cmd))
            return [
              say,
              `${cmd} > daemon.log 2>&1 &`,
              'DAEMON=$!',
              wait('the daemon', "grep -q 'daemon started' daemon.log"),
              'cp samples/exports/crm-semicolon.csv drop/sms/',
              wait('the export sent', 'test -e drop/sms/sent/crm-semicolon.csv'),
              'kill -INT -- -$DAEMON',
              // Ended by Ctrl-C: npx reports the signal (130), as in a terminal.
              'wait $DAEMON || test $? -eq 130',
            ];
          return [say, cmd];
        }),
        'echo README-DONE',
      ].join('\n');
      writeFileSync(join(dir, 'readme.sh'), script);
      let out: string;
      try {
        out = execFileSync('unshare', ['-n', 'bash', join(dir, 'readme.sh')], { encoding: 'utf8', timeout: 240_000, stdio: ['ignore', 'pipe', 'pipe'] });
      } catch (e) {
        const err = e as { stdout?: string; stderr?: string; status?: number };
        throw new Error(`the README's commands failed (exit ${err.status}):\n${err.stdout ?? ''}\n${err.stderr ?? ''}`, { cause: e });
      }
      expect(out).toContain('README-DONE');
      expect(out).toMatch(/outcome: processed/);
      expect(out).toMatch(/success 100\.0 %|success \d+\.\d %/);
      expect(out).toMatch(/accepted: broadcast \d+/);
      expect(out).toMatch(/#1 done .*crm-semicolon\.csv/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
