/**
 * The daemon's metrics and health endpoints (daemon.http): /metrics parsed
 * by a Prometheus text-format parser, with values that match the journal;
 * /healthz; /readyz ready after passes, not ready (503, with the reason)
 * when the account cannot be reached or a drop folder cannot be read, and
 * ready again once they are back.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import parsePrometheus from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Daemon } from '../../src/daemon/daemon.js';
import type { Simulator } from '../../src/simulator/simulator.js';
import { smsCommand, startSimDaemon, type SimDaemon } from '../helpers/sim-daemon.js';

const until = async (what: string, cond: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

describe('metrics and health (daemon.http)', () => {
  let t: SimDaemon;
  let root: string;
  let sim: Simulator;
  let daemon: Daemon;
  beforeAll(async () => {
    t = await startSimDaemon({
      seed: 'ops',
      commands: { 'cmd.yaml': smsCommand('Ops {file}') },
      timeouts: '{connect: 2, documentsTaken: 10, outcome: 20, poll: 0.1}',
      retries: '{attempts: 0, minDelay: 0.05, maxDelay: 0.1}',
      sections: ['push: {listen: "127.0.0.1:0"}'],
      // Metrics and health only (the console has its own tests).
      daemon: ['reportsEvery: 1', 'http: {listen: "127.0.0.1:0", readyPassSeconds: 30, console: false}'],
      folders: ['{path: drop, command: cmd.yaml}'],
    });
    ({ root, sim, daemon } = t);
  });
  afterAll(async () => {
    await t?.stop();
  });

  const get = async (path: string): Promise<{ status: number; text: string; type: string }> => {
    const r = await fetch(`${daemon.opsOrigin!}${path}`);
    return { status: r.status, text: await r.text(), type: r.headers.get('content-type') ?? '' };
  };
  const value = (families: ReturnType<typeof parsePrometheus>, name: string, labels: Record<string, string> = {}): number | undefined => {
    const f = families.find((x) => x.name === name);
    const m = f?.metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v));
    // A histogram's count is its +Inf bucket (the parser drops _count and _sum of a histogram with labels).
    const h = m as { value?: string; count?: string; buckets?: Record<string, string> } | undefined;
    return h === undefined ? undefined : Number(h.value ?? h.count ?? h.buckets?.['+Inf']);
  };

  it('/metrics holds what the journal holds; /healthz and /readyz answer', async () => {
    expect(await get('/healthz')).toMatchObject({ status: 200, text: 'ok\n' });
    for (let i = 0; i < 3; i++) writeFileSync(join(root, 'drop', `e${i}.csv`), `Nom;Mobile\nA${i};06 12 00 00 0${i}\nB${i};06 12 00 01 0${i}\n`);
    const j = daemon.journal;
    await until('three inputs done and their statuses pushed', async () => {
      const done = ((await j.sql.get("SELECT COUNT(*) n FROM inputs WHERE state = 'done'")) as { n: number }).n;
      const pushed = ((await j.sql.get('SELECT COUNT(*) n FROM push_statuses')) as { n: number }).n;
      return done === 3 && pushed >= 6;
    });
    await until('ready', async () => (await get('/readyz')).status === 200);
    const r = await get('/metrics');
    expect(r.status).toBe(200);
    expect(r.type).toMatch(/^text\/plain; version=0\.0\.4/);
    const m = parsePrometheus(r.text);
    const count = async (sql: string): Promise<number> => ((await j.sql.get(sql)) as { n: number }).n;
    expect(value(m, 'dmc_inputs', { state: 'done' })).toBe(await count("SELECT COUNT(*) n FROM inputs WHERE state = 'done'"));
    expect(value(m, 'dmc_triggers_by_outcome', { outcome: 'processed' })).toBe(await count("SELECT COUNT(*) n FROM triggers WHERE outcome = 'processed'"));
    expect(value(m, 'dmc_upload_duration_seconds')).toBe(3);
    expect(value(m, 'dmc_upload_bytes_total')).toBeGreaterThan(3 * 100);
    expect(value(m, 'dmc_push_statuses_total')).toBe(await count('SELECT COUNT(*) n FROM push_statuses'));
    expect(value(m, 'dmc_folder_healthy', { folder: join(root, 'drop') })).toBe(1);
    expect(value(m, 'dmc_account_reachable')).toBe(1);
    expect(value(m, 'dmc_passes_total', { result: 'ok' })).toBeGreaterThanOrEqual(daemon.passes);
    expect(Math.abs(value(m, 'dmc_last_pass_timestamp_seconds')! - Date.now() / 1000)).toBeLessThan(30);
    expect(m.find((f) => f.name === 'dmc_upload_duration_seconds')?.type).toBe('HISTOGRAM');
    // Every sample of every family names the account (its service id), as the hook events do.
    const service = '12345678';
    const samples = r.text.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(samples.length).toBeGreaterThan(10);
    expect(samples.filter((l) => !l.includes(`account="${service}"`))).toEqual([]);
    expect(await get('/nope')).toMatchObject({ status: 404 });
  });

  it('/readyz says why it is not ready, and is ready again once the cause is gone', async () => {
    await sim.stopServers();
    await until('not ready: the account unreachable', async () => (await get('/readyz')).text.includes('the account was unreachable at the last try'), 30_000);
    const down = await get('/readyz');
    expect(down.status).toBe(503);
    expect(value(parsePrometheus((await get('/metrics')).text), 'dmc_account_reachable')).toBe(0);
    await sim.startServers();
    await until('ready again', async () => (await get('/readyz')).status === 200, 60_000);
    renameSync(join(root, 'drop'), join(root, 'drop-away'));
    await until('not ready: the folder', async () => /drop folder .*drop cannot be read/.test((await get('/readyz')).text), 30_000);
    renameSync(join(root, 'drop-away'), join(root, 'drop'));
    await until('ready again after the folder came back', async () => (await get('/readyz')).status === 200, 30_000);
  });
});
