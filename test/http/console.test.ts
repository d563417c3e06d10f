/**
 * The console over HTTP (the browser test drives the pages; this one checks
 * the edges): the token file made 0600, the login's double-submit token, a
 * reverse proxy's authentication header when configured (and only then),
 * the security headers, the reports pages, and nothing secret on a page.
 */
import { existsSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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

describe('the console over HTTP', () => {
  let t: SimDaemon;
  let root: string;
  let sim: Simulator;
  let daemon: Daemon;
  let tokenFile: string;
  beforeAll(async () => {
    t = await startSimDaemon({
      seed: 'console-http',
      password: 's3cret-sftp',
      commands: { 'cmd.yaml': smsCommand('C {file}') },
      daemon: ['reportsEvery: 1', 'http: {listen: "127.0.0.1:0", authHeader: X-Forwarded-User}'],
      folders: ['{path: drop, command: cmd.yaml, map: {EXTERNALREFERENCE: Ref}}'],
    });
    ({ root, sim, daemon } = t);
    tokenFile = t.config.daemon!.http!.tokenFile;
  });
  afterAll(async () => {
    await t?.stop();
  });

  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${daemon.opsOrigin!}${path}`, { headers, redirect: 'manual' });

  it('makes the token file 0600; a login needs the form token it set and the file token', async () => {
    expect(tokenFile).toBe(join(root, 'state', 'console-token'));
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    const token = readFileSync(tokenFile, 'utf8').trim();
    expect(token.length).toBeGreaterThanOrEqual(32);
    const login = await get('/login');
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const csrf = /name="_csrf" value="([a-f0-9]+)"/.exec(await login.text())![1]!;
    const post = (body: Record<string, string>, c = cookie) =>
      fetch(`${daemon.opsOrigin!}/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie: c, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(body).toString(),
      });
    expect((await post({ token, _csrf: 'f'.repeat(32) })).status).toBe(403);
    expect((await post({ token, _csrf: csrf }, '')).status).toBe(403);
    expect((await post({ token: 'nope', _csrf: csrf })).status).toBe(401);
    const ok = await post({ token, _csrf: csrf });
    expect(ok.status).toBe(303);
    const session = ok.headers.get('set-cookie')!;
    expect(session).toMatch(/^dmc_session=[a-f0-9]{64}; HttpOnly; SameSite=Strict; Path=\//);
    const home = await get('/', { cookie: session.split(';')[0]! });
    expect(home.status).toBe(200);
    expect(home.headers.get('content-security-policy')).toMatch(/default-src 'none'; script-src 'self'/);
    expect(home.headers.get('x-frame-options')).toBe('DENY');
    const html = await home.text();
    // No secret on a page: not the token, not the account's password.
    expect(html).not.toContain(token);
    expect(html).not.toContain('s3cret-sftp');
  });

  it("a reverse proxy's authentication header logs in (authHeader); without it, the login page", async () => {
    expect((await get('/inputs')).status).toBe(303);
    const r = await get('/inputs', { 'X-Forwarded-User': 'alice' });
    expect(r.status).toBe(200);
    expect(r.headers.get('set-cookie')).toMatch(/^dmc_session=/);
  });

  it('names from the drop folder are escaped on every page; an error file replaced by a link is not shown', async () => {
    const evil = '<img src=x onerror=alert(1)>.csv';
    writeFileSync(join(root, 'drop', evil), 'not an export\n');
    await until('the hostile export failed', async () => (await daemon.journal.recentInputs(10)).some((i) => i.name === evil && i.state === 'failed'));
    const row = (await daemon.journal.recentInputs(10)).find((i) => i.name === evil)!;
    const h = { 'X-Forwarded-User': 'alice' };
    const list = await (await get('/inputs?state=failed', h)).text();
    expect(list).toContain('&lt;img src=x onerror=alert(1)&gt;.csv');
    expect(list).not.toContain('<img');
    const errorFile = join(root, 'drop', 'failed', `${evil}.error.txt`);
    await until('its error file', () => existsSync(errorFile));
    const one = await (await get(`/inputs/${row.id}`, h)).text();
    expect(one).toMatch(/Error file/);
    expect(one).not.toContain('<img');
    // failed/ is inside the drop folder: an error file replaced by a link to another file is not shown.
    const secret = join(root, 'not-for-the-console');
    writeFileSync(secret, 'TOPSECRET-console-value\n');
    rmSync(errorFile);
    symlinkSync(secret, errorFile);
    const again = await (await get(`/inputs/${row.id}`, h)).text();
    expect(again).not.toContain('TOPSECRET-console-value');
    expect(again).not.toMatch(/Error file/);
  });

  it('the reports pages list the collected reports and summarize one', async () => {
    writeFileSync(join(root, 'drop', 'r.csv'), 'Nom;Mobile;Ref\nA;06 13 00 00 01;R-1\nB;06 13 00 00 02;R-2\n');
    await until('r.csv done', async () => (await daemon.journal.recentInputs(5)).some((i) => i.name === 'r.csv' && i.state === 'done'));
    await sim.report();
    await until('a report collected', async () => Object.keys((await daemon.journal.summary()).reports).length > 0);
    const h = { 'X-Forwarded-User': 'alice' };
    const list = await (await get('/reports', h)).text();
    const name = /href="\/reports\/(CRA_12345678_[\d-]+\.csv)"/.exec(list)![1]!;
    const one = await (await get(`/reports/${name}`, h)).text();
    expect(one).toMatch(/Records: <b>2<\/b>/);
    expect(one).toMatch(/Broadcast \d+<\/a><\/h2><p>Contacts: 2, Success rate: \d+ %/);
    expect((await get('/reports/nope.csv', h)).status).toBe(404);
    // The broadcast the report linked, with its counts.
    const b = /href="\/broadcasts\/(\d+)"/.exec(one)![1]!;
    expect(await (await get(`/broadcasts/${b}`, h)).text()).toMatch(/#\d+ r\.csv/);
  });
});
