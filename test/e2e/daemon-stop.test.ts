/**
 * A stop that takes time says why (issue #20: a node once outlived its
 * SIGTERM by a minute with nothing in its log). The daemon under SIGTERM
 * while a hook command still runs: every 5 s it names the phase it waits
 * for, then stops (exit 0) once the hook has ended.
 */
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { smsCommand, startSimDaemon, type SimDaemon } from '../helpers/sim-daemon.js';

const bin = join(new URL('../../', import.meta.url).pathname, 'dist/cli/main.js');

describe('daemon stop', () => {
  let s: SimDaemon | undefined;
  afterAll(async () => {
    await s?.stop();
  });

  it('names the phase a slow stop waits for (a hook command still running), then ends with exit 0', async () => {
    s = await startSimDaemon({
      seed: 'stop',
      commands: { 'cmd.yaml': smsCommand('Stop {file}') },
      folders: ['{path: drop, command: cmd.yaml}'],
      daemon: (root) => ['hooks:', `  - {on: [sent], command: "touch ${join(root, 'hook-started')}; sleep 7"}`],
    });
    // The configuration as the test wrote it, run by the CLI (its log on stderr).
    await s.daemon.stop();
    const p = spawn(process.execPath, [bin, 'daemon', '--config', s.configPath], { cwd: s.root, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    p.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
    writeFileSync(join(s.root, 'drop', 'a.csv'), 'Nom;Mobile;Référence\nDupont;0612345678;ST-A\n');
    const end = Date.now() + 30_000;
    while (!existsSync(join(s.root, 'hook-started'))) {
      if (Date.now() > end) throw new Error(`the hook never started\n${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    p.kill('SIGTERM');
    expect(await exited).toBe(0);
    const said = err
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string; phase?: string });
    expect(said.find((l) => l.msg.startsWith('still stopping'))?.msg).toBe('still stopping: waiting for the hook deliveries in flight to end');
    expect(said.at(-1)!.msg).toBe('daemon stopped');
  }, 60_000);
});
