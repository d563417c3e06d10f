/**
 * Several DMC accounts in one configuration, served by one process (issue
 * #21): each account has its own connection and rate, so one account's
 * server black-holed does not hold up another's exports; one push receiver
 * routes each report by its username (the service id); an account whose
 * section is wrong is left out and the others run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAccounts } from '../../src/config/config.js';
import { AccountDaemons } from '../../src/daemon/accounts.js';
import type { Daemon } from '../../src/daemon/daemon.js';
import { Simulator } from '../../src/simulator/simulator.js';
import { silentLogger } from '../../src/transport/logger.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { main } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/output.js';
import { broadcastsWith } from '../helpers/platform-record.js';
import { pushElement } from '../helpers/push.js';
import { writePushReport } from '../../src/formats/push.js';

const command = (serviceId: string, spaceId: string): string =>
  `serviceId: "${serviceId}"\nspaceId: ${spaceId}\nbroadcastName: "Multi {file}"\nscenarioId: 40\ncallPlanningId: 41\nmessages:\n  - customizableId: 10\n    multimediaType: TXT\n    text: Bonjour\n`;

/** Two accounts on the simulated platform: 111 (user a) and 222 (user b). */
const TWO_ACCOUNTS = [
  { serviceId: '111', username: 'a', password: 'pa', spaceId: '1' },
  { serviceId: '222', username: 'b', password: 'pb', spaceId: '2' },
];

/** The simulator of these tests, started under `<root>/sim`. */
async function twoAccountSimulator(root: string, seed: string): Promise<Simulator> {
  const sim = new Simulator({ root: join(root, 'sim'), accounts: TWO_ACCOUNTS, sftpPort: 0, interval: 0.3, seed, autoReports: false });
  await sim.start();
  return sim;
}

/**
 * A CLI test's files in `root`: the two command files, the drop folders a, b
 * and c, and dmc.yaml with the account lines `accounts` writes
 * (`transport(user, pw)` spells a login on `sim`).
 */
function writeAccountsFile(root: string, sim: Simulator, accounts: (transport: (user: string, pw: string) => string) => string[]): void {
  writeFileSync(join(root, 'a.yaml'), command('111', '1'));
  writeFileSync(join(root, 'b.yaml'), command('222', '2'));
  for (const f of ['a', 'b', 'c']) mkdirSync(join(root, 'drop', f), { recursive: true });
  const transport = (user: string, pw: string): string =>
    `{host: 127.0.0.1, port: ${sim.sftp!.port}, username: ${user}, password: "${pw}", hostKey: "${sim.fingerprint}"}`;
  writeFileSync(
    join(root, 'dmc.yaml'),
    ['timeouts: {connect: 5, outcome: 20, poll: 0.1}', 'daemon: {stableSeconds: 0.3, rescanSeconds: 0.5}', 'accounts:', ...accounts(transport)].join('\n'),
  );
}

/** The built CLI run in `root`, its output gathered as it comes. */
function runCli(
  root: string,
  args: string[],
): { p: ChildProcess; out: () => string; err: () => string; exited: Promise<[number | null, NodeJS.Signals | null]> } {
  const bin = join(new URL('../../', import.meta.url).pathname, 'dist/cli/main.js');
  const p = spawn(process.execPath, [bin, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  p.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((res) => p.on('exit', (code, signal) => res([code, signal])));
  return { p, out: () => out, err: () => err, exited };
}

/** Waits (bounded) until `ok`, checking each 100 ms: the daemons work on their own. */
async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('several accounts in one process (issue #21)', () => {
  let root: string;
  let sim: Simulator;
  let proxy: FaultProxy;
  let all: AccountDaemons;
  let a: Daemon;
  let b: Daemon;
  let n = 0;
  let file: string;
  /** Passes that failed, per account (a pass held by a black hole ends in one, at the connect timeout). */
  const failedPasses = new Map<string, number>();
  /** Drops an export of one contact with its own reference; returns the reference. */
  const drop = (account: 'a' | 'b'): string => {
    const ref = `REF-${account}-${++n}`;
    writeFileSync(join(root, 'drop', account, `${ref}.csv`), `Mobile;Ref\n06 12 00 ${String(n).padStart(2, '0')} 00;${ref}\n`);
    return ref;
  };
  const done = async (d: Daemon): Promise<number> => (await d.journal.summary()).inputs['done'] ?? 0;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'dmc-accounts-'));
    sim = await twoAccountSimulator(root, 'accounts');
    proxy = new FaultProxy({ host: '127.0.0.1', port: sim.sftp!.port });
    await proxy.start();
    writeFileSync(join(root, 'a.yaml'), command('111', '1'));
    writeFileSync(join(root, 'b.yaml'), command('222', '2'));
    for (const f of ['a', 'b', 'c']) mkdirSync(join(root, 'drop', f), { recursive: true });
    const text = [
      'timeouts: {connect: 2, idle: 5, documentsTaken: 10, outcome: 20, poll: 0.1}',
      'retries: {attempts: 1, minDelay: 0.05, maxDelay: 0.2}',
      'push: {listen: "127.0.0.1:0", path: /dmc/status}',
      'daemon: {stableSeconds: 0.3, rescanSeconds: 0.5, http: {listen: "127.0.0.1:0"}}',
      'accounts:',
      '  - service: {serviceId: "111"}',
      `    transport: {host: 127.0.0.1, port: ${proxy.port}, username: a, password: pa, hostKey: "${sim.fingerprint}"}`,
      '    daemon: {dropFolders: [{path: drop/a, command: a.yaml, map: {EXTERNALREFERENCE: Ref}}]}',
      '  - service: {serviceId: "222"}',
      `    transport: {host: 127.0.0.1, port: ${sim.sftp!.port}, username: b, password: pb, hostKey: "${sim.fingerprint}"}`,
      '    daemon: {dropFolders: [{path: drop/b, command: b.yaml, map: {EXTERNALREFERENCE: Ref}}]}',
      // A section that cannot run (its password's variable unset): left out, the others run.
      '  - service: {serviceId: "333"}',
      `    transport: {host: 127.0.0.1, port: ${sim.sftp!.port}, username: c, password: "\${DMC_TEST_UNSET}"}`,
      '    daemon: {dropFolders: [{path: drop/c, command: b.yaml}]}',
    ].join('\n');
    file = join(root, 'dmc.yaml');
    writeFileSync(file, text);
    all = new AccountDaemons(await parseAccounts(text, file, {}), silentLogger, {
      onEvent: (account, e) => {
        if (e.type === 'retry' && e.detail?.startsWith('pass failed')) failedPasses.set(account, (failedPasses.get(account) ?? 0) + 1);
      },
    });
    await all.start();
    [a, b] = all.daemons as [Daemon, Daemon];
    sim.setPush({ url: `${all.pushOrigin}/dmc/status`, batch: 50 });
  }, 60_000);
  afterAll(async () => {
    await all?.stop();
    await proxy?.close();
    await sim?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('an account whose section is wrong is left out, named; the others run', () => {
    expect(all.daemons.map((d) => d.account)).toEqual(['111', '222']);
    expect(all.skipped).toEqual([
      { account: '333', reason: expect.stringMatching(/accounts\[2\] \(service 333\): transport\.password refers to \$\{DMC_TEST_UNSET\}/) },
    ]);
  });

  it("one receiver routes each account's statuses to that account; a report for another service is refused and counted", { timeout: 90_000 }, async () => {
    const ra = drop('a');
    const rb = drop('b');
    await until('both exports sent and done', async () => (await done(a)) === 1 && (await done(b)) === 1);
    await until('statuses pushed for both', async () => (await a.journal.pushStatusCount()) > 0 && (await b.journal.pushStatusCount()) > 0);
    // Each on its own account's platform records, once.
    expect([broadcastsWith(join(root, 'sim'), ra, 'a'), broadcastsWith(join(root, 'sim'), ra, 'b')]).toEqual([1, 0]);
    expect([broadcastsWith(join(root, 'sim'), rb, 'b'), broadcastsWith(join(root, 'sim'), rb, 'a')]).toEqual([1, 0]);
    const before = [await a.journal.pushStatusCount(), await b.journal.pushStatusCount()];
    const xml = writePushReport('999', [pushElement()]);
    const res = await fetch(`${all.pushOrigin}/dmc/status`, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: xml });
    expect(res.status).toBe(403);
    expect(await res.text()).toMatch(/for service '999', this receiver takes services 111, 222/);
    expect(all.pushCounters?.otherService).toBe(1);
    // A service configured but not running here (its section cannot start): 503, to be posted again, never refused for good.
    const later = await fetch(`${all.pushOrigin}/dmc/status`, {
      method: 'POST',
      headers: { 'content-type': 'text/xml' },
      body: writePushReport('333', [pushElement()]),
    });
    expect(later.status).toBe(503);
    expect(later.headers.get('retry-after')).toBe('60');
    expect(await later.text()).toMatch(/service 333 is configured but not running in this process/);
    expect(all.pushCounters?.otherService).toBe(1);
    expect([await a.journal.pushStatusCount(), await b.journal.pushStatusCount()]).toEqual(before);
  });

  it("one account's server black-holed: the other's exports keep flowing; the first resumes when the network does", { timeout: 120_000 }, async () => {
    proxy.blackHole(120_000);
    const ra = drop('a');
    // The account is stuck for real first: a pass of it has waited out its connect timeout on the silent network.
    await until('a pass of the black-holed account to fail', () => (failedPasses.get('111') ?? 0) > 0, 30_000);
    const rbs = Array.from({ length: 6 }, () => drop('b'));
    await until("the other account's six exports done", async () => (await done(b)) === 7, 60_000);
    for (const r of rbs) expect(broadcastsWith(join(root, 'sim'), r, 'b')).toBe(1);
    // Meanwhile nothing of the black-holed account's export reached its platform.
    expect(broadcastsWith(join(root, 'sim'), ra, 'a')).toBe(0);
    expect(await done(a)).toBe(1);
    proxy.blackHole(0);
    await until('the black-holed account to send once the network is back', async () => (await done(a)) === 2, 90_000);
    expect(broadcastsWith(join(root, 'sim'), ra, 'a')).toBe(1);
  });

  it("one server for the process: /metrics holds every account's series (each family once), /readyz each account's state", async () => {
    const text = await (await fetch(`${all.opsOrigin}/metrics`)).text();
    expect(text).toMatch(/^dmc_inputs\{state="done",account="111"\} \d+$/m);
    expect(text).toMatch(/^dmc_inputs\{state="done",account="222"\} \d+$/m);
    expect(text).toMatch(/^dmc_passes_total\{result="ok",account="222"\} [1-9]/m);
    expect(text.match(/^# HELP dmc_inputs /gm)).toHaveLength(1);
    expect(text.match(/^# TYPE dmc_upload_duration_seconds /gm)).toHaveLength(1);
    // Push statuses counted per account (the receiver routed them); refusals are the receiver's, counted once.
    expect(text).toMatch(/^dmc_push_statuses_total\{account="111"\} [1-9]/m);
    expect(text).toMatch(/^dmc_push_other_service_total 1$/m);
    expect(text).toMatch(/^dmc_push_refused_total\{status="403"\} 1$/m);
    expect(text).toMatch(/^dmc_push_refused_total\{status="503"\} 1$/m);
    expect(text.match(/^# HELP dmc_push_refused_total /gm)).toHaveLength(1);
    const ready = await fetch(`${all.opsOrigin}/readyz`);
    const body = await ready.text();
    expect(body).toMatch(/^account 111: (ready|not ready)/m);
    expect(body).toMatch(/^account 222: (ready|not ready)/m);
    expect(ready.status).toBe(body.startsWith('ready') ? 200 : 503);
  });

  it('one console for the process: every account on /, each at /a/<serviceId>/ with the selector, one login for all', async () => {
    const o = all.opsOrigin!;
    const first = await fetch(`${o}/`, { redirect: 'manual' });
    expect(first.status).toBe(303);
    expect(first.headers.get('location')).toBe('/a/111/login');
    const login = await fetch(`${o}/a/111/login`);
    const pre = login.headers.get('set-cookie')!.split(';')[0]!;
    expect(login.headers.get('set-cookie')).toContain('Path=/a/111/login');
    const csrf = /name="_csrf" value="([a-f0-9]+)"/.exec(await login.text())![1]!;
    const token = readFileSync(join(root, 'state', 'console-token'), 'utf8').trim();
    const ok = await fetch(`${o}/a/111/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: pre, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, _csrf: csrf }).toString(),
    });
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/');
    const session = ok.headers.get('set-cookie')!.split(';')[0]!;
    const get = (path: string): Promise<Response> => fetch(`${o}${path}`, { headers: { cookie: session }, redirect: 'manual' });
    const overview = await (await get('/')).text();
    expect(overview).toContain('<a href="/a/111/">111</a>');
    expect(overview).toContain('<a href="/a/222/">222</a>');
    // Each account's pages show its own inputs only, and every link stays in that account's console.
    const inputsB = await get('/a/222/inputs');
    expect(inputsB.status).toBe(200);
    const htmlB = await inputsB.text();
    expect(htmlB).toMatch(/REF-b-/);
    expect(htmlB).not.toMatch(/REF-a-/);
    expect(htmlB).toContain('<b>222</b>');
    expect(htmlB).toContain('<a href="/a/111/">111</a>');
    for (const [, href] of htmlB.matchAll(/href="([^"]+)"/g)) if (href!.startsWith('/')) expect(href, href).toMatch(/^\/(a\/(111|222)\/|$)/);
    const inputsA = await (await get('/a/111/inputs')).text();
    expect(inputsA).toMatch(/REF-a-/);
    expect(inputsA).not.toMatch(/REF-b-/);
    // Without the session: the account's login, never its pages.
    expect((await fetch(`${o}/a/222/inputs`, { redirect: 'manual' })).headers.get('location')).toBe('/a/222/login');
  });

  it.runIf(existsSync('/usr/bin/chromium'))(
    'the console in a browser: log in once, the accounts listed, one account then the other by the selector',
    async () => {
      const { chromium } = await import('playwright-core');
      const browser = await chromium.launch({
        executablePath: '/usr/bin/chromium',
        args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
      });
      try {
        const page = await browser.newPage();
        await page.goto(`${all.opsOrigin}/`);
        expect(new URL(page.url()).pathname).toBe('/a/111/login');
        await page.fill('input[name=token]', readFileSync(join(root, 'state', 'console-token'), 'utf8').trim());
        await page.click('button');
        await page.waitForURL(`${all.opsOrigin}/`);
        expect(await page.textContent('h1')).toBe('All accounts');
        await page.click('td a[href="/a/222/"]');
        await page.waitForURL(`${all.opsOrigin}/a/222/`);
        await page.click('nav a[href="/a/222/inputs"]');
        await page.waitForURL(`${all.opsOrigin}/a/222/inputs`);
        expect(await page.textContent('main')).toMatch(/REF-b-/);
        expect(await page.textContent('nav b')).toBe('222');
        // The selector: the other account, its own pages.
        await page.click('nav a[href="/a/111/"]');
        await page.waitForURL(`${all.opsOrigin}/a/111/`);
        await page.click('nav a[href="/a/111/inputs"]');
        await page.waitForURL(`${all.opsOrigin}/a/111/inputs`);
        const text = await page.textContent('main');
        expect(text).toMatch(/REF-a-/);
        expect(text).not.toMatch(/REF-b-/);
      } finally {
        await browser.close();
      }
    },
    60_000,
  );

  it('status acts for the account --account names, or shows every account; a command that acts asks for one (exit 2)', async () => {
    const run = async (...argv: string[]): Promise<{ code: number; out: string; err: string }> => {
      const out: string[] = [];
      const err: string[] = [];
      const io: Io = { out: (l) => out.push(l), err: (l) => err.push(l), isTTY: false };
      return { code: await main(argv, io), out: out.join('\n'), err: err.join('\n') };
    };
    const s = await run('status', '--config', file, '--account', '222', '--json');
    expect(s.code).toBe(0);
    const status = JSON.parse(s.out) as { account: string; inputs: Record<string, number>; journal: string };
    expect(status.account).toBe('222');
    expect(status.journal).toContain(join('state', '222', 'journal.db'));
    expect(status.inputs['done'] ?? 0).toBe(await done(b));
    // Without --account, status shows every account; a command that acts (or checks) asks for one.
    const every = await run('status', '--config', file);
    expect(every.code).toBe(0);
    expect(every.out).toMatch(/^== account 111 ==$/m);
    expect(every.out).toMatch(/^== account 222 ==$/m);
    expect(every.out).toMatch(/^== account 333 ==\nno journal yet/m);
    const everyJson = JSON.parse((await run('status', '--config', file, '--json')).out) as { accounts: { account: string; exists: boolean }[] };
    expect(everyJson.accounts.map((a) => [a.account, a.exists])).toEqual([
      ['111', true],
      ['222', true],
      ['333', false],
    ]);
    const none = await run('journal', 'check', '--config', file);
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/has 3 accounts \(111, 222, 333\): name the one to act for with --account <serviceId> \(or DMC_ACCOUNT\)/);
    // status needs no secret: the account the daemon left out is shown (it never ran).
    const left = await run('status', '--config', file, '--account', '333');
    expect(left.code).toBe(0);
    expect(left.out).toMatch(/no journal yet at .*333.*the daemon has not run with this configuration/);
    const unknown = await run('status', '--config', file, '--account', '444');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/no account with service id 444 \(--account\): the accounts are 111, 222, 333/);
    // --account applies to its command only.
    expect(process.env['DMC_ACCOUNT']).toBeUndefined();
  });
});

describe('dmc-trigger daemon with several accounts (the command)', () => {
  it('serves each account, names each in its event lines, says the account left out, and exits 2 at stop for it', { timeout: 60_000 }, async () => {
    const root = mkdtempSync(join(tmpdir(), 'dmc-accounts-cli-'));
    const sim = await twoAccountSimulator(root, 'accounts-cli');
    try {
      writeAccountsFile(root, sim, (transport) => [
        `  - {service: {serviceId: "111"}, transport: ${transport('a', 'pa')}, daemon: {dropFolders: [{path: drop/a, command: a.yaml}]}}`,
        `  - {service: {serviceId: "222"}, labels: [east], transport: ${transport('b', 'pb')}, daemon: {dropFolders: [{path: drop/b, command: b.yaml}]}}`,
        `  - {service: {serviceId: "333"}, transport: ${transport('c', '${DMC_TEST_UNSET}')}, daemon: {dropFolders: [{path: drop/c, command: b.yaml}]}}`,
      ]);
      const d = runCli(root, ['daemon', '--config', 'dmc.yaml', '--log-level', 'error']);
      await until('the daemon to start', () => d.out().includes('daemon serving 2 account(s)'), 30_000);
      expect(d.out()).toMatch(/account 111: watching .*drop\/a; journal .*state\/111\/journal\.db/);
      expect(d.out()).toMatch(/account 222: watching .*drop\/b; journal .*state\/222\/journal\.db/);
      expect(d.err()).toMatch(/account 333 NOT STARTED: .*accounts\[2\] \(service 333\): transport\.password refers to \$\{DMC_TEST_UNSET\}/);
      writeFileSync(join(root, 'drop', 'b', 'relance.csv'), 'Mobile\n0612345678\n');
      await until('the export sent for account 222', () => /\[222\] sent #\d+ relance\.csv/.test(d.out()), 30_000);
      expect(d.out()).not.toMatch(/\[111\] (taken|sent)/);
      d.p.kill('SIGTERM');
      expect((await d.exited)[0]).toBe(2);
      // Pinned by label: this node leads only the accounts labelled so (the one left out is not selected: exit 0).
      const q = runCli(root, ['daemon', '--config', 'dmc.yaml', '--label', 'east', '--log-level', 'error']);
      await until('the pinned daemon to start', () => q.out().includes('daemon serving 1 account(s)'), 30_000);
      expect(q.out()).toMatch(/account 222: watching/);
      expect(q.out()).not.toMatch(/account 111/);
      q.p.kill('SIGTERM');
      expect((await q.exited)[0]).toBe(0);
      const r = runCli(root, ['daemon', '--config', 'dmc.yaml', '--label', 'west']);
      expect((await r.exited)[0]).toBe(2);
      expect(r.err()).toMatch(/--label west: no account has it; the labels are east/);
    } finally {
      await sim.stop();
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('a SIGTERM while the accounts start stops those started and exits on its own: no further account starts', { timeout: 60_000 }, async () => {
    const root = mkdtempSync(join(tmpdir(), 'dmc-accounts-term-'));
    const sim = await twoAccountSimulator(root, 'accounts-term');
    // Account 222's journal is a server that takes the connection and never answers: its start is held there.
    const held: Socket[] = [];
    let reached: () => void = () => undefined;
    const journalReached = new Promise<void>((r) => (reached = r));
    const blackHole = createServer((s) => {
      held.push(s);
      reached();
    });
    await new Promise<void>((r) => blackHole.listen(0, '127.0.0.1', r));
    try {
      const pgPort = (blackHole.address() as { port: number }).port;
      writeAccountsFile(root, sim, (transport) => [
        `  - {service: {serviceId: "111"}, transport: ${transport('a', 'pa')}, daemon: {dropFolders: [{path: drop/a, command: a.yaml}]}}`,
        `  - {service: {serviceId: "222"}, transport: ${transport('b', 'pb')}, daemon: {journal: "postgres://dmc@127.0.0.1:${pgPort}/dmc", dropFolders: [{path: drop/b, command: b.yaml}]}}`,
        // (The same login as 111 under another remote folder: a section that would start, were it reached.)
        `  - {service: {serviceId: "333"}, transport: {host: 127.0.0.1, port: ${sim.sftp!.port}, username: a, password: pa, remoteRoot: other, hostKey: "${sim.fingerprint}"}, daemon: {dropFolders: [{path: drop/c, command: a.yaml}]}}`,
      ]);
      const d = runCli(root, ['daemon', '--config', 'dmc.yaml', '--log-level', 'error']);
      // Account 111 has started (its journal open) and 222's start waits on its journal: the process is mid-start.
      await Promise.race([journalReached, d.exited.then(() => Promise.reject(new Error(`the daemon exited before its start reached 222: ${d.err()}`)))]);
      d.p.kill('SIGTERM');
      const [code, signal] = await d.exited;
      // Killed by the signal before (code null, SIGTERM); now a stop: 222 could not start (exit 2, as at any stop).
      expect(signal, `stdout: ${d.out()}\nstderr: ${d.err()}`).toBeNull();
      expect(code).toBe(2);
      expect(d.out()).toContain('stopping: the operation in flight ends');
      expect(d.out()).not.toContain('daemon serving');
      expect(d.err()).toMatch(/account 222 NOT STARTED/);
      expect(existsSync(join(root, 'state', '111', 'journal.db'))).toBe(true);
      expect(existsSync(join(root, 'state', '333'))).toBe(false); // the account after the signal never started
      // Account 111 was stopped, not abandoned: its journal is free for the next start.
      expect((await runCli(root, ['journal', 'check', '--config', 'dmc.yaml', '--account', '111']).exited)[0]).toBe(0);
    } finally {
      for (const s of held) s.destroy();
      blackHole.close();
      await sim.stop();
      rmSync(root, { recursive: true, force: true });
    }
  });

  it(
    'init --accounts writes the several-accounts shape from the simulator: each account its folder and command file; the daemon serves them as written',
    { timeout: 60_000 },
    async () => {
      const root = mkdtempSync(join(tmpdir(), 'dmc-accounts-init-'));
      const sim = await twoAccountSimulator(root, 'accounts-init');
      try {
        const { writeClientConfig } = await import('../../src/cli/simulator-command.js');
        for (const a of TWO_ACCOUNTS) await writeClientConfig(join(root, 'sim', 'clients'), sim, a, 'sftp');
        const run = async (...args: string[]): Promise<{ code: number | null; out: string; err: string }> => {
          const c = runCli(root, args);
          const [code] = await c.exited;
          return { code, out: c.out(), err: c.err() };
        };
        const init = await run('init', '--accounts', '--simulator', 'sim');
        expect(init.code, init.err).toBe(0);
        expect(init.out).toMatch(/wrote dmc\.yaml with 2 account\(s\) \(111, 222\)/);
        expect(readFileSync(join(root, 'commands', 'sms-222.yaml'), 'utf8')).toMatch(/^serviceId: "222"\nspaceId: 2$/m);
        const set = await parseAccounts(readFileSync(join(root, 'dmc.yaml'), 'utf8'), join(root, 'dmc.yaml'));
        expect(set.accounts.map((e) => e.error?.message ?? e.config!.daemon!.dropFolders[0]!.path)).toEqual([
          join(root, 'drop', '111'),
          join(root, 'drop', '222'),
        ]);
        expect((await run('init', '--accounts', '--simulator', 'sim')).code).toBe(2);
        // As written: the daemon serves both; an export dropped for 222 goes out on 222's account.
        const d = runCli(root, ['daemon', '--config', 'dmc.yaml', '--log-level', 'error']);
        await until('the daemon to start', () => d.out().includes('daemon serving 2 account(s)'), 30_000);
        writeFileSync(join(root, 'drop', '222', 'relance.csv'), 'Mobile;Ref\n0612345678;INIT-1\n');
        await until('the export sent for 222', () => /\[222\] sent #\d+ relance\.csv/.test(d.out()), 30_000);
        d.p.kill('SIGTERM');
        expect((await d.exited)[0]).toBe(0);
      } finally {
        await sim.stop();
        rmSync(root, { recursive: true, force: true });
      }
    },
  );

  it(
    "push-receiver with several accounts records each report in its account's journal; 503 for an account that cannot run, 403 for a service not configured",
    { timeout: 60_000 },
    async () => {
      const root = mkdtempSync(join(tmpdir(), 'dmc-accounts-push-'));
      try {
        writeFileSync(
          join(root, 'dmc.yaml'),
          [
            'push: {listen: "127.0.0.1:0", path: /dmc/status}',
            'accounts:',
            '  - {service: {serviceId: "111"}, transport: {host: h, username: a, password: pa}}',
            '  - {service: {serviceId: "222"}, transport: {host: h, username: b, password: pb}}',
            '  - {service: {serviceId: "333"}, transport: {host: h, username: c, password: "${DMC_TEST_UNSET}"}}',
          ].join('\n'),
        );
        const r = runCli(root, ['push-receiver', '--config', 'dmc.yaml', '--log-level', 'error']);
        await until('the receiver to listen', () => /push receiver on (http:\/\/\S+)\/dmc\/status for 111, 222\./.test(r.out()), 30_000);
        expect(r.err()).toMatch(/account 333 NOT SERVED: .*DMC_TEST_UNSET/);
        const origin = /push receiver on (http:\/\/\S+?)\/dmc\/status/.exec(r.out())![1]!;
        const post = (user: string): Promise<Response> =>
          fetch(`${origin}/dmc/status`, {
            method: 'POST',
            headers: { 'content-type': 'text/xml' },
            body: writePushReport(user, [pushElement({ broadcastId: `9${user}` })]),
          });
        expect((await post('111')).status).toBe(200);
        expect((await post('222')).status).toBe(200);
        expect((await post('333')).status).toBe(503);
        expect((await post('999')).status).toBe(403);
        r.p.kill('SIGTERM');
        expect((await r.exited)[0]).toBe(2);
        const { Journal } = await import('../../src/store/journal.js');
        for (const id of ['111', '222']) {
          const j = await Journal.open(join(root, 'state', id, 'journal.db'), 'readonly');
          try {
            expect(await j.pushStatusCount(), id).toBe(1);
          } finally {
            await j.close();
          }
        }
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    },
  );
});
