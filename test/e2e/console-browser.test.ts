/**
 * The console in a real browser (Debian's chromium driven by playwright-core):
 * log in with the token, see the overview after the daemon processed exports
 * on the simulator, open a failed input, press Retry once its cause is fixed
 * and see it go through, see a broadcast's chart drawn, switch to French, and
 * check that a request without the CSRF token or without a session is refused.
 * Screenshots go to var/console-screenshots/.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Daemon } from '../../src/daemon/daemon.js';
import { parisTime } from '../../src/formats/paris-time.js';
import { smsCommand, startSimDaemon, type SimDaemon } from '../helpers/sim-daemon.js';

const CHROMIUM = '/usr/bin/chromium';
const shots = join(new URL('../../', import.meta.url).pathname, 'var', 'console-screenshots');
const until = async (what: string, cond: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};
const CMD = smsCommand('Console {file}');

describe.runIf(existsSync(CHROMIUM))('the console in a browser', () => {
  let t: SimDaemon;
  let root: string;
  let daemon: Daemon;
  let browser: Browser;
  let token: string;
  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    t = await startSimDaemon({
      seed: 'console',
      // No broadcastName in bad.yaml: what is dropped there fails until the command file is fixed.
      commands: { 'good.yaml': CMD, 'bad.yaml': CMD.replace(/broadcastName: .*\n/, '') },
      sections: ['push: {listen: "127.0.0.1:0"}'],
      daemon: ['maxAttempts: 1', 'http: {listen: "127.0.0.1:0"}'],
      folders: ['{path: drop/good, command: good.yaml}', '{path: drop/bad, command: bad.yaml}'],
    });
    ({ root, daemon } = t);
    token = readFileSync(t.config.daemon!.http!.tokenFile, 'utf8').trim();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  it(
    'log in, overview, a failed input retried from its page, a broadcast chart, French; no CSRF token or no session: refused',
    { timeout: 120_000 },
    async () => {
      const j = daemon.journal;
      writeFileSync(join(root, 'drop', 'good', 'relance.csv'), 'Nom;Mobile\nA;06 11 00 00 01\nB;06 11 00 00 02\nC;06 11 00 00 03\n');
      writeFileSync(join(root, 'drop', 'bad', 'rappel.csv'), 'Nom;Mobile\nD;06 11 00 00 04\n');
      const state = async (name: string): Promise<string | undefined> =>
        ((await j.sql.get('SELECT state FROM inputs WHERE name = ? ORDER BY id DESC LIMIT 1', name)) as { state: string } | undefined)?.state;
      await until('relance.csv done with its statuses and rappel.csv failed', async () => {
        const pushed = ((await j.sql.get('SELECT COUNT(*) n FROM contact_results')) as { n: number }).n;
        return (await state('relance.csv')) === 'done' && (await state('rappel.csv')) === 'failed' && pushed >= 3;
      });
      const origin = daemon.opsOrigin!;
      const context = await browser.newContext();
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });

      // Logged out: the login page, then the overview.
      await page.goto(`${origin}/`);
      expect(new URL(page.url()).pathname).toBe('/login');
      await page.fill('input[name=token]', 'wrong-token-of-enough-length');
      await page.click('button');
      expect(await page.textContent('.error')).toContain('Wrong token.');
      await page.fill('input[name=token]', token);
      await page.click('button');
      await page.waitForURL(`${origin}/`);
      // From here on, the browser's console stays clean (the wrong token's 401 above was expected).
      errors.length = 0;
      // Issue #19.3: the overview refreshes itself until paused; large counters first; folders by their short name.
      expect(await page.locator('meta[http-equiv="refresh"]').count()).toBe(1);
      await page.click('.live a');
      await page.waitForURL(`${origin}/`);
      expect(await page.locator('meta[http-equiv="refresh"]').count()).toBe(0);
      expect(await page.textContent('.live')).toMatch(/Live updates: off/);
      const overview = await page.textContent('main');
      expect(overview).toMatch(/Inputs by state\s*done 1, failed 1|Inputs by state\s*failed 1, done 1/);
      expect(overview).toContain('good: healthy');
      expect(await page.getAttribute('.cards li span[title]', 'title')).toMatch(/\/drop\/(good|bad)$/);
      expect(await page.textContent('.counters')).toMatch(/1\s*Exports sent today.*1\s*Failed inputs/s);
      expect(overview).toContain('1 failed input(s)');
      // Times a person reads are Paris wall-clock times, not ISO instants in UTC.
      expect(overview).not.toMatch(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/);
      expect(overview).toMatch(new RegExp(`Last pass\\s*${parisTime(new Date()).date} \\d{2}:\\d{2}:\\d{2}`));
      await page.screenshot({ path: join(shots, 'overview.png'), fullPage: true });

      // The failed input: its error file, then Retry once the command file is fixed.
      await page.click('a[href="/inputs?state=failed"]');
      await page.click('text=rappel.csv');
      expect(await page.textContent('pre.errorfile')).toMatch(/broadcastName/);
      await page.screenshot({ path: join(shots, 'failed-input.png'), fullPage: true });
      writeFileSync(join(root, 'bad.yaml'), CMD);
      await page.click('form[action$="/retry"] button');
      expect(await page.textContent('.flash')).toBe('Put back in its drop folder: the daemon takes it as a new input.');
      await until('the retried input done', async () => (await state('rappel.csv')) === 'done').catch(async (e: Error) => {
        throw new Error(`${e.message}: ${JSON.stringify(await j.sql.all('SELECT id, name, state, last_error FROM inputs'))}`);
      });
      await page.goto(`${origin}/inputs?name=rappel`);
      const rows = await page.locator('tbody tr').allTextContents();
      expect(rows.some((r) => /done\s*rappel\.csv/.test(r))).toBe(true);
      expect(rows.some((r) => /retried\s*rappel\.csv/.test(r))).toBe(true);

      // A broadcast's chart, drawn (the canvas is not blank).
      const broadcast = (
        (await j.sql.get("SELECT broadcast_id b FROM triggers t JOIN inputs i ON i.id = t.input_id WHERE i.name = 'relance.csv'")) as { b: string }
      ).b;
      await page.goto(`${origin}/broadcasts/${broadcast}`);
      await page.waitForSelector('#chart canvas');
      // Counted in the page (its own DOM types; this file is compiled without the DOM library).
      const painted = await page.$eval('#chart canvas', (c) => {
        const canvas = c as unknown as {
          width: number;
          height: number;
          getContext(k: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } };
        };
        const px = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let n = 0;
        for (let i = 3; i < px.length; i += 4) if (px[i]! > 0) n++;
        return n;
      });
      expect(painted).toBeGreaterThan(100);
      await page.screenshot({ path: join(shots, 'broadcast.png'), fullPage: true });

      // French.
      await page.goto(`${origin}/?lang=fr`);
      expect(await page.textContent('h1')).toBe("Vue d'ensemble");
      await page.goto(`${origin}/inputs`);
      expect(await page.textContent('h1')).toBe('Entrées');
      // The states in French too (issue #19.3).
      expect(await page.textContent('tbody')).toMatch(/terminée/);
      expect(await page.textContent('tbody')).not.toMatch(/\bdone\b/);

      // Issue #19.1: a done input offers Resend only, behind a confirmation page naming the broadcast and its contacts;
      // a refused action is a page with the way back; a notice is never text taken from the URL.
      const doneId = ((await j.sql.get("SELECT id FROM inputs WHERE name = 'relance.csv'")) as { id: number }).id;
      await page.goto(`${origin}/inputs/${doneId}?lang=en`);
      expect(await page.locator('form[action$="/retry"]').count()).toBe(0);
      await page.click(`a[href="/inputs/${doneId}/resend"]`);
      const confirm = await page.textContent('main');
      expect(confirm).toMatch(/Send this input again, as a new broadcast\?/);
      expect(confirm).toMatch(/Broadcast name\s*Console relance/);
      expect(confirm).toMatch(/Contacts\s*\d+/);
      const csrfToken = (await page.getAttribute('input[name="_csrf"]', 'value'))!;
      await page.click('text=Cancel');
      expect(new URL(page.url()).pathname).toBe(`/inputs/${doneId}`);
      const unconfirmed = await page.request.post(`${origin}/inputs/${doneId}/resend`, { form: { _csrf: csrfToken }, maxRedirects: 0 });
      expect(unconfirmed.status()).toBe(303);
      expect(unconfirmed.headers()['location']).toBe(`/inputs/${doneId}/resend`);
      const notAllowed = await page.request.post(`${origin}/inputs/${doneId}/retry`, { form: { _csrf: csrfToken } });
      expect(notAllowed.status()).toBe(409);
      expect(await notAllowed.text()).toMatch(/is done, not failed[\s\S]*href="\/inputs\/\d+">Back to the input/);
      await page.goto(`${origin}/inputs/${doneId}?done=${encodeURIComponent('Your account is closed: call 0899 000 000')}`);
      expect(await page.locator('.flash').count()).toBe(0);
      expect(await page.textContent('main')).not.toContain('0899');

      // A state-changing request without the CSRF token, with the session: refused; nothing moved.
      const id = ((await j.sql.get("SELECT id FROM inputs WHERE name = 'relance.csv'")) as { id: number }).id;
      const forged = await page.request.post(`${origin}/inputs/${id}/resend`, { form: { x: '1' } });
      expect(forged.status()).toBe(403);
      expect(await forged.text()).toBe('refused: no valid CSRF token with this request\n');
      // Without a session: refused, and a page sends to the login.
      const stranger = await browser.newContext();
      const anon = await stranger.request.post(`${origin}/inputs/${id}/resend`, { form: { _csrf: 'x' }, maxRedirects: 0 });
      expect(anon.status()).toBe(401);
      const anonPage = await stranger.newPage();
      await anonPage.goto(`${origin}/inputs/${id}`);
      expect(new URL(anonPage.url()).pathname).toBe('/login');
      await stranger.close();
      expect(await state('relance.csv')).toBe('done');
      expect(existsSync(join(root, 'drop', 'good', 'relance.csv'))).toBe(false);
      expect(errors).toEqual([]);
      await context.close();
    },
  );
});
