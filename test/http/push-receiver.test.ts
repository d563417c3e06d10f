/**
 * The CRA push receiver (guide §2.9) over real HTTP on loopback: the guide's
 * examples, what the guide leaves open (content types, duplicates, order),
 * access control, and hostile input. Each refusal is one line.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Secret, type PushConfig } from '../../src/config/config.js';
import { SqliteSql } from '../../src/store/sql.js';
import { Journal } from '../../src/store/journal.js';
import { writePushReport } from '../../src/formats/push.js';
import { startPushReceiver, type PushReceiver } from '../../src/http/push-receiver.js';
import { silentLogger } from '../../src/transport/logger.js';
import { rng } from '../helpers/random.js';
import { pushElement } from '../helpers/push.js';

const run = promisify(execFile);
const GUIDE = join(import.meta.dirname, '../fixtures/guide/push');

let dir: string;
let journal: Journal;
let receiver: PushReceiver | undefined;

function config(over: Partial<PushConfig> = {}): PushConfig {
  return {
    host: '127.0.0.1',
    port: 0,
    path: new Secret('/dmc/status', '/dmc/status'),
    allowFrom: [],
    trustProxy: false,
    formField: 'xml',
    maxBodyBytes: 1024 * 1024,
    maxElements: 20_000,
    maxPending: 20_000,
    allowAsyncCommit: false,
    headersTimeout: 2,
    requestTimeout: 4,
    journal: join(dir, 'journal.db'),
    ...over,
  };
}

async function start(over: Partial<PushConfig> = {}): Promise<PushReceiver> {
  receiver = await startPushReceiver({ config: config(over), journal, logger: silentLogger });
  return receiver;
}

async function post(
  body: string | Buffer,
  opts: { type?: string; path?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(`${receiver!.origin}${opts.path ?? '/dmc/status'}`, {
    method: 'POST',
    headers: { 'content-type': opts.type ?? 'text/xml', ...(opts.headers ?? {}) },
    body,
  });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

const count = async (sql: string, ...args: unknown[]): Promise<number> => ((await journal.sql.get(sql, ...args)) as { n: number }).n;

/** The receiver's SQLite database (the pragmas under test). */
const sqlite = (): SqliteSql['db'] => (journal.sql as SqliteSql).db;

const element = pushElement;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dmc-push-'));
  journal = await Journal.open(join(dir, 'journal.db'), 'receiver');
});
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
  await journal.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the guide examples (lines 6800-6927)', () => {
  it('every example is answered 200 and each of its statuses is in the journal once', async () => {
    await start();
    const files = readdirSync(GUIDE).filter((f) => /^\d\d-.*\.xml$/.test(f) && !f.startsWith('00'));
    let expected = 0;
    for (const f of files) {
      const text = readFileSync(join(GUIDE, f), 'utf8');
      expected += (text.match(/<status /g) ?? []).length;
      const r = await post(text);
      expect(r.status, `${f}: ${r.text}`).toBe(200);
    }
    expect(await count('SELECT COUNT(*) n FROM push_statuses')).toBe(expected);
    // The fax example: CONVERTED then SENT in the same second; the contact's status is SENT (the history's order).
    expect(await journal.sql.get("SELECT status FROM contact_results WHERE medium = 'fax'")).toEqual({ status: 'SENT' });
    // The voice example: vxml_info beside <status> (lines 6886-6888) is kept.
    const ended = (await journal.sql.get("SELECT detail FROM push_statuses WHERE medium = 'call' AND type = 'ENDED'")) as { detail: string };
    expect(JSON.parse(ended.detail)).toMatchObject({
      amd: 'human',
      time: '9',
      vxml_voicemail: 'false',
      vxml_route: 'Menu 1(10590):1|Menu 2(10592):2|Menu 3(10595):1',
    });
    // Notifications: three elements in one POST, ` CET` dates, no declaration on the later ones.
    expect(await count("SELECT COUNT(*) n FROM push_statuses WHERE medium = 'notif'")).toBe(5);
    expect(await journal.sql.get("SELECT date FROM push_statuses WHERE medium = 'notif' AND type = 'CLICK'")).toEqual({ date: '2016-11-08 13:33:00' });
    // The SMS reply's text (info) is kept.
    expect(await journal.sql.get("SELECT info FROM push_statuses WHERE type = 'ANSWERED'")).toEqual({ info: 'OK' });
  });

  it('a redelivered report is answered 200 and recorded once', async () => {
    await start();
    const text = readFileSync(join(GUIDE, '01-sms.xml'), 'utf8');
    for (let i = 0; i < 3; i++) expect((await post(text)).status).toBe(200);
    expect(await count('SELECT COUNT(*) n FROM push_statuses')).toBe(1);
  });

  it('vxml_info inside <status> (the schema, line 6740) is read as well as beside it', async () => {
    await start();
    const text = `<status_report username="1"><call to="+33401020304" status="ENDED" call_id="7" broadcast_id="8" contact_id="9" ref_externe="" space_id="1" date="2026-01-01 10:00:00"><status date="2026-01-01 10:00:00" type="ENDED"><vxml_info voicemail="true"/><transfer to="+33102030405"/></status></call></status_report>`;
    expect((await post(text)).status).toBe(200);
    const row = (await journal.sql.get('SELECT detail FROM push_statuses')) as { detail: string };
    expect(JSON.parse(row.detail)).toEqual({ vxml_voicemail: 'true', transfer_to: '+33102030405' });
  });
});

describe('the key and the order of statuses', () => {
  it('a fax and a call sharing broadcast, contact and call id are two contacts-media, not duplicates', async () => {
    await start();
    const body = writePushReport('1', [
      element({ medium: 'fax', status: 'SENT', history: [{ type: 'SENT', date: '2026-11-28 10:00:00', seq: 0 }] }),
      element({ medium: 'call', status: 'SENT', history: [{ type: 'SENT', date: '2026-11-28 10:00:00', seq: 0 }] }),
    ]);
    expect((await post(body)).status).toBe(200);
    expect(await count('SELECT COUNT(*) n FROM push_statuses')).toBe(2);
    expect(await count('SELECT COUNT(*) n FROM contact_results')).toBe(2);
  });

  it('an older status arriving late never replaces a later one', async () => {
    await start();
    const received = element({ status: 'RECEIVED', history: [{ type: 'RECEIVED', date: '2026-11-28 10:00:05', seq: 0 }] });
    const sent = element({ status: 'SENT', history: [{ type: 'SENT', date: '2026-11-28 10:00:01', seq: 0 }] });
    expect((await post(writePushReport('1', [received]))).status).toBe(200);
    expect((await post(writePushReport('1', [sent]))).status).toBe(200);
    expect(await journal.sql.get('SELECT status, final FROM contact_results')).toEqual({ status: 'RECEIVED', final: 'delivered' });
    expect(await count('SELECT COUNT(*) n FROM push_statuses')).toBe(2);
  });

  it('same-second statuses in separate posts keep the guide chain (SENT before RECEIVED)', async () => {
    await start();
    const received = element({ status: 'RECEIVED', history: [{ type: 'RECEIVED', date: '2026-11-28 10:00:00', seq: 0 }] });
    const sent = element({ status: 'SENT', history: [{ type: 'SENT', date: '2026-11-28 10:00:00', seq: 0 }] });
    await post(writePushReport('1', [received]));
    await post(writePushReport('1', [sent]));
    expect(await journal.sql.get('SELECT status FROM contact_results')).toEqual({ status: 'RECEIVED' });
  });
});

describe('content types (the guide names none)', () => {
  const xml = (): string => readFileSync(join(GUIDE, '01-sms.xml'), 'utf8');

  it('application/xml and text/xml with a charset are read', async () => {
    await start();
    expect((await post(xml(), { type: 'application/xml' })).status).toBe(200);
    expect((await post(xml(), { type: 'text/xml; charset=UTF-8' })).status).toBe(200);
  });

  it('a form posts the XML in the field `xml` (push.formField), or as its only field', async () => {
    await start();
    const form = 'application/x-www-form-urlencoded';
    expect((await post(new URLSearchParams({ xml: xml() }).toString(), { type: form })).status).toBe(200);
    expect((await post(new URLSearchParams({ data: xml() }).toString(), { type: form })).status).toBe(200);
    const none = await post(new URLSearchParams({ a: '1', b: '2' }).toString(), { type: form });
    expect(none.status).toBe(400);
    expect(none.text).toBe("the form has no 'xml' field holding the XML (push.formField)\n");
  });

  it('another field name is configurable', async () => {
    await start({ formField: 'statusReport' });
    const r = await post(new URLSearchParams({ statusReport: xml(), other: 'x' }).toString(), { type: 'application/x-www-form-urlencoded' });
    expect(r.status).toBe(200);
  });

  it('any other content type is 400 with the accepted ones named', async () => {
    await start();
    const r = await post(xml(), { type: 'application/json' });
    expect(r.status).toBe(400);
    expect(r.text).toMatch(/^content type 'application\/json' is not accepted: send text\/xml, application\/xml or application\/x-www-form-urlencoded\n$/);
  });

  it('an ISO-8859-15 body declared so is decoded (the SMS reply keeps its accents)', async () => {
    await start();
    const text = `<?xml version="1.0" encoding="ISO-8859-15"?><status_report username="1"><sms to="+33601020304" status="ANSWERED" call_id="1" broadcast_id="2" contact_id="3" ref_externe="" space_id="1" date="2026-01-01 10:00:00"><status date="2026-01-01 10:00:00" type="ANSWERED" info="Oui, merci €"/></sms></status_report>`;
    const { encodeLatin9 } = await import('../../src/formats/encoding.js');
    expect((await post(encodeLatin9(text))).status).toBe(200);
    expect(await journal.sql.get('SELECT info FROM push_statuses')).toEqual({ info: 'Oui, merci €' });
  });
});

describe('access', () => {
  const xml = (): string => readFileSync(join(GUIDE, '01-sms.xml'), 'utf8');

  it('a secret path: any other path is 404, GET on it 405', async () => {
    await start({ path: new Secret('/push/s3cr3t', '/push/***') });
    expect((await post(xml(), { path: '/push/wrong' })).status).toBe(404);
    expect((await post(xml(), { path: '/push/s3cr3t' })).status).toBe(200);
    const get = await fetch(`${receiver!.origin}/push/s3cr3t`);
    expect(get.status).toBe(405);
  });

  it('HTTP Basic: no credentials or wrong ones are 401 with a challenge; the right ones are 200', async () => {
    await start({ username: 'dmc', password: new Secret('pa:ss', 'test') });
    const none = await post(xml());
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
    const basic = (u: string, p: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` });
    expect((await post(xml(), { headers: basic('dmc', 'wrong') })).status).toBe(401);
    expect((await post(xml(), { headers: basic('dmc', 'pa:ss') })).status).toBe(200);
    expect(await count('SELECT COUNT(*) n FROM push_statuses')).toBe(1);
  });

  it('an address not in allowFrom is 403; forwarded headers count only when trusted', async () => {
    await start({ allowFrom: ['10.0.0.0/8'] });
    const r = await post(xml());
    expect(r.status).toBe(403);
    expect(r.text).toMatch(/^address (::ffff:)?127\.0\.0\.1 is not allowed to post statuses \(push\.allowFrom\)\n$/);
    // Not trusted: a forged X-Forwarded-For does not open the door.
    expect((await post(xml(), { headers: { 'x-forwarded-for': '10.1.2.3' } })).status).toBe(403);
    await receiver!.close();
    await start({ allowFrom: ['10.0.0.0/8'], trustProxy: ['127.0.0.1'] });
    expect((await post(xml(), { headers: { 'x-forwarded-for': '10.1.2.3' } })).status).toBe(200);
    expect((await post(xml(), { headers: { 'x-forwarded-for': '192.168.1.1' } })).status).toBe(403);
  });

  it('TLS with the configured certificate', async () => {
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost']);
    await start({ tls: { cert, key } });
    expect(receiver!.origin).toMatch(/^https:\/\//);
    const { stdout } = await run('curl', [
      '-sS',
      '--cacert',
      cert,
      '-o',
      '-',
      '-w',
      '%{http_code}',
      '-H',
      'content-type: text/xml',
      '--data-binary',
      `@${join(GUIDE, '01-sms.xml')}`,
      `https://localhost:${receiver!.port}/dmc/status`,
    ]);
    expect(stdout).toBe('OK\n200');
  });
});

describe('hostile input', () => {
  it('a DOCTYPE (entity bomb, external entity) is refused before any expansion', async () => {
    await start();
    const bomb = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><status_report username="&lol2;"/>`;
    const xxe = `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><status_report username="&x;"/>`;
    for (const body of [bomb, xxe]) {
      const r = await post(body);
      expect(r.status).toBe(400);
      expect(r.text).toBe('the report has a DOCTYPE: refused (no DTD or entity is ever read)\n');
    }
  });

  it('malformed XML, a wrong root, a missing attribute and a bad date are 400 with one line', async () => {
    await start();
    const cases: [string, RegExp][] = [
      ['<status_report username="1"><sms to="1"', /^malformed XML: /],
      ['<report/>', /^line 1: the root is <report>, not <status_report>\n$/],
      [
        '<status_report username="1"><sms to="+33601020304" status="SENT" contact_id="1" date="2026-01-01 10:00:00"/></status_report>',
        /<sms> has no broadcast_id\n$/,
      ],
      [
        '<status_report username="1"><sms to="+336" status="SENT" broadcast_id="1" contact_id="1" date="yesterday"/></status_report>',
        /date 'yesterday' is not YYYY-MM-DD HH:mm:ss\n$/,
      ],
      ['<status_report username="1"/>', /^the report holds no media element/],
      [
        '<status_report username="1"><sms to="1" status="SENT" broadcast_id="1" contact_id="1" date="2026-01-01 10:00:00">&undefined;</sms></status_report>',
        /^malformed XML: /,
      ],
    ];
    for (const [body, re] of cases) {
      const r = await post(body);
      expect(r.status, body).toBe(400);
      expect(r.text, body).toMatch(re);
      expect(r.text.trim().split('\n')).toHaveLength(1);
    }
    expect(await count('SELECT COUNT(*) n FROM push_statuses')).toBe(0);
  });

  it('deep nesting and too many elements are refused; a 50 MB body is 413 without being held', async () => {
    await start({ maxElements: 100 });
    const open = '<sms to="1" status="SENT" broadcast_id="1" contact_id="1" date="2026-01-01 10:00:00">';
    const deep = `<status_report username="1">${open}${'<a>'.repeat(50)}${'</a>'.repeat(50)}</sms></status_report>`;
    expect((await post(deep)).text).toMatch(/nested deeper than/);
    const many = `<status_report username="1">${open}${'<x/>'.repeat(500)}</sms></status_report>`;
    expect((await post(many)).text).toMatch(/more than 100 elements/);
    const before = process.memoryUsage().rss;
    const big = Buffer.alloc(50 * 1024 * 1024, 0x20);
    const r = await post(big);
    expect(r.status).toBe(413);
    expect(r.text).toBe('the body is larger than 1048576 bytes (push.maxBodyBytes)\n');
    // The client's own 50 MB buffer is counted; the receiver holds at most its cap on top.
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * 1024 * 1024);
  });

  it('seeded garbage never crashes the receiver: every answer is 200 or 400 and it still answers after', async () => {
    await start();
    const seed = Number(process.env.PUSH_FUZZ_SEED ?? 20261128);
    const rand = rng(seed);
    const sources = readdirSync(GUIDE)
      .filter((f) => f.endsWith('.xml'))
      .map((f) => readFileSync(join(GUIDE, f)));
    for (let i = 0; i < 150; i++) {
      const src = Buffer.from(sources[Math.floor(rand() * sources.length)]!);
      const cuts = 1 + Math.floor(rand() * 8);
      for (let k = 0; k < cuts; k++) src[Math.floor(rand() * src.length)] = Math.floor(rand() * 256);
      const body = rand() < 0.2 ? src.subarray(0, Math.floor(rand() * src.length)) : src;
      const r = await post(body);
      expect([200, 400], `seed ${seed}, case ${i}: ${r.status} ${r.text}`).toContain(r.status);
      expect(r.text.split('\n').length, `seed ${seed}, case ${i}`).toBe(2);
    }
    expect((await post(readFileSync(join(GUIDE, '01-sms.xml')))).status).toBe(200);
  });

  it('a client that never finishes its headers is cut off after headersTimeout, not minutes later', async () => {
    await start({ headersTimeout: 1, requestTimeout: 2 });
    const closedAfter = await new Promise<number>((resolve, reject) => {
      const t0 = Date.now();
      const s = connect(receiver!.port, '127.0.0.1', () => s.write('POST /dmc/status HTTP/1.1\r\nHost: x\r\n'));
      // Flowing, so that the end of the stream is read and 'close' comes.
      s.resume();
      s.on('close', () => resolve(Date.now() - t0));
      s.on('error', () => undefined);
      setTimeout(() => reject(new Error("the stalled connection is still open after 10 s (Node's default would keep it 60 s)")), 10_000).unref();
    });
    expect(closedAfter).toBeLessThan(10_000);
  });

  it('a body that stalls is cut off by requestTimeout', async () => {
    await start({ headersTimeout: 1, requestTimeout: 2 });
    const answer = await new Promise<string>((resolve, reject) => {
      let got = '';
      const s = connect(receiver!.port, '127.0.0.1', () =>
        s.write('POST /dmc/status HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: 1000\r\n\r\n<status'),
      );
      s.on('data', (d) => (got += d.toString()));
      s.on('close', () => resolve(got));
      s.on('error', () => undefined);
      setTimeout(() => reject(new Error("the stalled body is still open after 10 s (Node's default would keep it 300 s)")), 10_000).unref();
    });
    expect(answer === '' || /^HTTP\/1\.1 408/.test(answer)).toBe(true);
  });
});

describe('load and failure of the journal', () => {
  it('too many statuses waiting for a commit: 503 with Retry-After, and every 200 is recorded', async () => {
    await start({ maxPending: 1 });
    // Thirty pipelined posts in one write: they are read in one turn, before the first commit.
    const requests = Array.from({ length: 30 }, (_, i) => {
      const body = Buffer.from(writePushReport('1', [element({ contactId: String(i) })]));
      return `POST /dmc/status HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: ${body.length}\r\n\r\n${body.toString()}`;
    }).join('');
    const raw = await new Promise<string>((resolve, reject) => {
      let got = '';
      const s = connect(receiver!.port, '127.0.0.1', () => s.write(requests));
      s.on('data', (d) => {
        got += d.toString();
        if ((got.match(/^HTTP\/1\.1 /gm) ?? []).length === 30) s.end();
      });
      s.on('close', () => resolve(got));
      s.on('error', reject);
      setTimeout(() => reject(new Error(`30 answers expected within 20 s, got: ${got.slice(0, 300)}`)), 20_000).unref();
    });
    const statuses = [...raw.matchAll(/^HTTP\/1\.1 (\d+)/gm)].map((m) => Number(m[1]));
    const ok = statuses.filter((s) => s === 200).length;
    const busy = statuses.filter((s) => s === 503).length;
    expect(ok + busy).toBe(30);
    expect(ok).toBeGreaterThan(0);
    expect(busy).toBeGreaterThan(0);
    expect(raw).toMatch(/HTTP\/1\.1 503[^]*?retry-after: 5/i);
    expect(await count('SELECT COUNT(*) n FROM push_statuses')).toBe(ok);
  });

  it('the journal commits with synchronous=FULL (fsynced before the answer; NORMAL would not be in WAL mode)', () => {
    expect(sqlite().pragma('synchronous', { simple: true })).toBe(2);
    expect(sqlite().pragma('journal_mode', { simple: true })).toBe('wal');
  });

  it('a journal that refuses the write: 503, never 200', async () => {
    await start();
    sqlite().pragma('query_only = ON');
    const r = await post(readFileSync(join(GUIDE, '01-sms.xml')));
    expect(r.status).toBe(503);
    expect(r.text).toBe('the journal could not record the statuses: retry later\n');
    sqlite().pragma('query_only = OFF');
    expect((await post(readFileSync(join(GUIDE, '01-sms.xml')))).status).toBe(200);
  });
});

describe('with curl, a real client', () => {
  it('chunked bodies, HTTP/1.0, Expect: 100-continue and Basic auth from the command line', async () => {
    await start({ username: 'dmc', password: new Secret('pw', 'test') });
    const file = join(dir, 'report.xml');
    writeFileSync(file, readFileSync(join(GUIDE, '05-fax.xml')));
    const url = `${receiver!.origin}/dmc/status`;
    const curl = async (...args: string[]): Promise<string> => (await run('curl', ['-sS', '-o', '-', '-w', ' %{http_code}', ...args, url])).stdout;
    expect(await curl('-u', 'dmc:pw', '-H', 'content-type: text/xml', '-H', 'transfer-encoding: chunked', '--data-binary', `@${file}`)).toBe('OK\n 200');
    expect(await curl('--http1.0', '-u', 'dmc:pw', '-H', 'content-type: application/xml', '--data-binary', `@${file}`)).toBe('OK\n 200');
    expect(await curl('-u', 'dmc:pw', '-H', 'Expect: 100-continue', '-H', 'content-type: text/xml', '--data-binary', `@${file}`)).toBe('OK\n 200');
    expect(await curl('-u', 'dmc:pw', '--data-urlencode', `xml@${file}`)).toBe('OK\n 200');
    expect(await curl('-u', 'dmc:nope', '-H', 'content-type: text/xml', '--data-binary', `@${file}`)).toBe('wrong credentials\n 401');
    expect(await count('SELECT COUNT(*) n FROM push_statuses')).toBe(2);
  });
});

describe('what a status says must be what was sent (issue #19.5)', () => {
  it('a body that is not UTF-8 (bad bytes, overlong forms, surrogates) is 400 with the reason, and nothing is recorded', async () => {
    await start();
    const good = writePushReport('1', [element({ refExterne: 'REF-é' })]);
    const at = Buffer.from(good, 'utf8').indexOf(Buffer.from('REF-'));
    for (const bad of [
      [0xff], // never in UTF-8
      [0xc0, 0xaf], // overlong '/'
      [0xe0, 0x80, 0xaf], // overlong, three bytes
      [0xed, 0xa0, 0x80], // a UTF-16 surrogate
      [0xc3], // cut in the middle of é
    ]) {
      const bytes = Buffer.concat([Buffer.from(good, 'utf8').subarray(0, at + 4), Buffer.from(bad), Buffer.from(good, 'utf8').subarray(at + 6)]);
      for (const [body, type] of [
        [bytes, 'text/xml'],
        [Buffer.from(`xml=${[...bytes].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')}`, 'latin1'), 'application/x-www-form-urlencoded'],
      ] as const) {
        const r = await post(body, { type });
        expect(r.status, `${bad.map((b) => b.toString(16)).join(' ')} as ${type}`).toBe(400);
        expect(r.text).toMatch(new RegExp(`^the body is not valid UTF-8 \\(at byte ${at + 4}\\)`));
      }
    }
    expect(await count('SELECT COUNT(*) n FROM push_statuses')).toBe(0);
    expect((await post(good)).status).toBe(200);
    expect(await count("SELECT COUNT(*) n FROM push_statuses WHERE ref = 'REF-é'")).toBe(1);
  });

  it('a report for another service than the configured one is refused (403), counted, and never recorded', async () => {
    receiver = await startPushReceiver({ config: config(), journal, logger: silentLogger, serviceId: '12345678' });
    const r = await post(writePushReport('87654321', [element()]));
    expect(r.status).toBe(403);
    expect(r.text).toMatch(/for service '87654321', this receiver takes service 12345678/);
    expect(receiver.counters.refused['403']).toBe(1);
    expect(await count('SELECT COUNT(*) n FROM push_statuses')).toBe(0);
    expect((await post(writePushReport('12345678', [element()]))).status).toBe(200);
  });
});
