/**
 * Interop tests against real servers: OpenSSH's sshd (SFTP) and vsftpd with
 * passive mode disabled, started on 127.0.0.1 by scripts/interop-servers.sh
 * (which .ci/run runs). Without them, these tests are skipped on a developer
 * machine and fail in CI.
 */
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type ResolvedConfig } from '../../src/config/config.js';
import { createTransport } from '../../src/transport/connect.js';
import { resolveRemoteRoot, sendTrigger } from '../../src/transport/handshake.js';
import { silentLogger } from '../../src/transport/logger.js';
import { fetchReports } from '../../src/transport/reports.js';
import { Session } from '../../src/transport/session.js';
import { interopEnv, type InteropEnv } from '../helpers/interop-env.js';

const env = interopEnv(import.meta.url);

const root = (e: InteropEnv): string => join(e.home, `DMC_${e.serviceId}`);
const uid = (e: InteropEnv): { uid: number; gid: number } => {
  const s = statSync(e.home);
  return { uid: s.uid, gid: s.gid };
};

async function configFor(e: InteropEnv, protocol: 'sftp' | 'ftp', auth: 'password' | 'key' = 'password'): Promise<ResolvedConfig> {
  const cred = auth === 'key' ? `privateKeyFile: "${e.clientKey}"` : `password: "\${PW}"`;
  const t =
    protocol === 'sftp'
      ? `{protocol: sftp, host: ${e.host}, port: ${e.sshPort}, username: ${e.user}, ${cred}, hostKey: "${e.hostKey}"}`
      : `{protocol: ftp, host: ${e.host}, port: ${e.ftpPort}, username: ${e.user}, password: "\${PW}"}`;
  return parseConfig(
    `service: {serviceId: "${e.serviceId}"}\ntransport: ${t}\ntimeouts: {connect: 5, documentsTaken: 10, poll: 0.05}\nretries: {attempts: 2, minDelay: 0.05, maxDelay: 0.2}\n`,
    '/tmp/interop.yaml',
    { PW: e.password },
  );
}

/** Watches in/ on the server's disk: every final (non-.uploading) name must appear with its full size. */
function watchIn(e: InteropEnv, expected: Map<string, number>): { order: string[]; problems: string[]; close(): void } {
  const dir = join(root(e), 'in');
  const order: string[] = [];
  const problems: string[] = [];
  const w = watch(dir, (_ev, name) => {
    if (!name || order.includes(name)) return;
    const p = join(dir, name);
    if (!existsSync(p)) return;
    order.push(name);
    const want = expected.get(name);
    if (!name.endsWith('.uploading') && want !== undefined && statSync(p).size !== want)
      problems.push(`${name} appeared with ${statSync(p).size} bytes of ${want}`);
  });
  return { order, problems, close: () => w.close() };
}

describe.runIf(env)('interop with real servers', () => {
  const e = env!;
  // Names unique to this run: the servers keep files between runs.
  const run = `${Date.now().toString(36)}${process.pid.toString(36)}`;
  const local = `/tmp/dmc-interop-local-${run}`;
  beforeAll(() => {
    mkdirSync(local, { recursive: true });
  });

  for (const protocol of ['sftp', 'ftp'] as const) {
    describe(protocol === 'sftp' ? 'OpenSSH sshd (SFTP)' : 'vsftpd, passive disabled (active FTP)', () => {
      let config: ResolvedConfig;
      let session: Session;
      beforeAll(async () => {
        config = await configFor(e, protocol);
        session = new Session(() => createTransport(config, silentLogger), { retries: config.retries, logger: silentLogger });
      });
      afterAll(async () => {
        await session.close();
      });

      it('finds the account root one level below the login folder', async () => {
        expect(await resolveRemoteRoot(session, e.serviceId)).toBe(`DMC_${e.serviceId}`);
      });

      it('sends documents before the trigger; no final name ever holds partial content', async () => {
        const docName = `${protocol}-doc-${run}.pdf`;
        const doc = join(local, docName);
        const trig = join(local, `${protocol}-trigger.csv`);
        writeFileSync(doc, Buffer.alloc(3 * 1024 * 1024, 3));
        writeFileSync(trig, Buffer.alloc(1024 * 1024, 't'));
        const expected = new Map([[docName, 3 * 1024 * 1024]]);
        const remoteName = `${protocol}-trigger-${run}.csv`;
        expected.set(remoteName, 1024 * 1024);
        const w = watchIn(e, expected);
        // The platform: takes documents from in/ once they have their final name, and once the
        // watcher has seen (and sized) it there: taken earlier, the watcher raced it (seen once in CI).
        const taker = setInterval(() => {
          const p = join(root(e), 'in', docName);
          if (w.order.includes(docName) && existsSync(p)) renameSync(p, join(e.home, `taken-${docName}`));
        }, 20);
        try {
          const r = await sendTrigger(
            session,
            { trigger: trig, documents: [doc], remoteName },
            { remoteRoot: `DMC_${e.serviceId}`, timeouts: config.timeouts, logger: silentLogger },
          );
          expect(r.remoteName).toBe(remoteName);
        } finally {
          clearInterval(taker);
          w.close();
        }
        expect(w.problems).toEqual([]);
        const docFinal = w.order.indexOf(docName);
        const trigTemp = w.order.findIndex((n) => n.startsWith(`${remoteName}.`) && n.endsWith('.uploading'));
        expect(docFinal).toBeGreaterThanOrEqual(0);
        expect(trigTemp).toBeGreaterThan(docFinal);
        expect(readFileSync(join(root(e), 'in', remoteName)).equals(readFileSync(trig))).toBe(true);
      });

      it('never overwrites: the server would replace the file on rename, the handshake refuses', async () => {
        const p = join(root(e), 'in', `${protocol}-exists-${run}.csv`);
        writeFileSync(p, 'theirs');
        chownSync(p, uid(e).uid, uid(e).gid);
        const mine = join(local, 'mine.csv');
        writeFileSync(mine, 'mine');
        await expect(
          sendTrigger(
            session,
            { trigger: mine, remoteName: `${protocol}-exists-${run}.csv` },
            { remoteRoot: `DMC_${e.serviceId}`, timeouts: config.timeouts, logger: silentLogger },
          ),
        ).rejects.toMatchObject({ code: 'TARGET_EXISTS' });
        expect(readFileSync(p, 'utf8')).toBe('theirs');
      });

      it('collects a report and acks it', async () => {
        // A date unique to this run and protocol (reports of earlier runs may still be waiting).
        const day = new Date(Date.UTC(2030, 0, 1) + (Date.now() % 100_000) * 86_400_000 + (protocol === 'sftp' ? 0 : 86_400_000)).toISOString().slice(0, 10);
        const name = `CRA_${e.serviceId}_${day}.csv`;
        const p = join(root(e), 'out', name);
        writeFileSync(
          p,
          'broadcastId;contactId;externalReference;name;forename;callResult;callAdress;callDate;callAttempts\n1;2;R;N;F;Reçu;+33612345678;2027/02/01 10:00:00;1\n',
          'latin1',
        );
        chownSync(p, uid(e).uid, uid(e).gid);
        const dir = join(local, `reports-${protocol}`);
        const got = await fetchReports(session, { remoteRoot: `DMC_${e.serviceId}`, serviceId: e.serviceId, dir, ackNaming: 'replace', logger: silentLogger });
        expect(got.find((r) => r.name === name)).toMatchObject({ fetched: 'downloaded', ack: 'acked' });
        expect(readFileSync(join(dir, name)).equals(readFileSync(p))).toBe(true);
        expect(existsSync(join(root(e), 'out', 'ack', name.replace('.csv', '.ack')))).toBe(true);
      });
    });
  }

  it('OpenSSH: logs in with a private key too', async () => {
    const c = await configFor(e, 'sftp', 'key');
    const t = createTransport(c, silentLogger);
    await t.connect();
    expect((await t.list('.')).map((x) => x.name)).toContain(`DMC_${e.serviceId}`);
    await t.close();
  });

  it('OpenSSH: an unpinned host key is refused with its fingerprint', async () => {
    const c = await configFor(e, 'sftp');
    const t = createTransport({ ...c, transport: { ...c.transport, hostKeys: [] } }, silentLogger);
    await expect(t.connect()).rejects.toMatchObject({ code: 'HOST_KEY_UNKNOWN', message: expect.stringContaining(e.hostKey) });
  });

  it('vsftpd: 300 active-mode transfers in a row (STOR, RETR, LIST) without a data-connection race', async () => {
    const c = await configFor(e, 'ftp');
    const t = createTransport(c, silentLogger);
    await t.connect();
    const dir = `DMC_${e.serviceId}/in/processing`;
    try {
      for (let i = 0; i < 100; i++) {
        const body = Buffer.from(`transfer ${i};`.repeat(1 + (i % 37) * 50));
        await t.upload(Readable.from([body]), `${dir}/race-${i}.txt`);
        const sink = new PassThrough();
        const got: Buffer[] = [];
        sink.on('data', (x: Buffer) => got.push(x));
        expect(await t.download(`${dir}/race-${i}.txt`, sink)).toBe(body.length);
        expect(Buffer.concat(got).equals(body)).toBe(true);
        expect((await t.list(dir)).some((x) => x.name === `race-${i}.txt`)).toBe(true);
        await t.remove(`${dir}/race-${i}.txt`);
      }
    } finally {
      await t.close();
    }
    expect(readdirSync(join(root(e), 'in', 'processing')).filter((f) => f.startsWith('race-'))).toEqual([]);
  });
});

describe.runIf(env?.imapPort)('interop: reading replies from Dovecot', () => {
  const e = env as InteropEnv & { imapPort: number; imapUser: string };
  it('parses replies in UTF-8 8bit, ISO-8859-1 quoted-printable, UTF-8 base64 and Windows-1252; matches, marks seen, leaves other mail alone', async () => {
    const { ImapFlow } = await import('imapflow');
    const iconvLite = (await import('iconv-lite')).default;
    const { MailStore } = await import('../../src/transport/mail-store.js');
    const { processReplies } = await import('../../src/transport/imap.js');
    const { REPLY_TEXTS } = await import('../../src/formats/mail.js');
    const run = `${Date.now().toString(36)}`;
    const stateDir = `/tmp/dmc-interop-mailstate-${run}`;
    const cfg = await parseConfig(
      `service: {serviceId: "${e.serviceId}"}\nmail: {from: ops@client1.fr, stateDir: "${stateDir}", smtp: {host: 127.0.0.1, requireTLS: false}, imap: {host: 127.0.0.1, port: ${e.imapPort}, secure: false, username: "${e.imapUser}", password: "\${PW}"}}\n`,
      '/tmp/interop-mail.yaml',
      { PW: e.password },
    );
    const store = new MailStore(stateDir);
    const sent = ['utf8', 'qp', 'b64', 'cp1252'].map((k, i) => ({
      messageId: `<${k}-${run}@client1.fr>`,
      kind: 'email-trigger' as const,
      to: 'dmc_admin@dmc.sfr-sh.fr',
      subject: `s${i}`,
      sentAt: new Date(Date.now() - 60_000).toISOString(),
      digest: k,
    }));
    for (const s of sent) await store.sent(s);
    const text = (id: number): string => REPLY_TEXTS.triggerSuccess('fr', id, '43', 2, '15/01/2027 09:00:00');
    const head = (id: string, charset: string, cte: string): string =>
      `From: DMC <dmc_admin@dmc.sfr-sh.fr>\r\nTo: ops@client1.fr\r\nSubject: Re: x\r\nMessage-ID: <reply-${id}-${run}@dmc>\r\nIn-Reply-To: <${id}-${run}@client1.fr>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=${charset}\r\nContent-Transfer-Encoding: ${cte}\r\n\r\n`;
    const qp = (buf: Buffer): string =>
      [...buf]
        .map((b) => (b >= 33 && b <= 126 && b !== 61 ? String.fromCharCode(b) : b === 32 ? ' ' : `=${b.toString(16).toUpperCase().padStart(2, '0')}`))
        .join('')
        .replace(/(.{70})/g, '$1=\r\n');
    const c = new ImapFlow({ host: '127.0.0.1', port: e.imapPort, secure: false, auth: { user: e.imapUser, pass: e.password }, logger: false });
    await c.connect();
    await c.append('INBOX', Buffer.concat([Buffer.from(head('utf8', 'utf-8', '8bit')), Buffer.from(`${text(2001)}\r\n`, 'utf8')]));
    await c.append('INBOX', head('qp', 'iso-8859-1', 'quoted-printable') + qp(iconvLite.encode(text(2002), 'iso-8859-1')) + '\r\n');
    await c.append(
      'INBOX',
      head('b64', 'utf-8', 'base64') +
        Buffer.from(text(2003), 'utf8')
          .toString('base64')
          .replace(/(.{76})/g, '$1\r\n') +
        '\r\n',
    );
    await c.append('INBOX', Buffer.concat([Buffer.from(head('cp1252', 'windows-1252', '8bit')), iconvLite.encode(`${text(2004)}\r\n`, 'windows-1252')]));
    await c.append('INBOX', `From: news@shop.fr\r\nTo: ops@client1.fr\r\nSubject: Promo ${run}\r\nMessage-ID: <promo-${run}@shop>\r\n\r\nSoldes !\r\n`);
    await c.logout();

    const events = await processReplies(cfg.mail!, store, silentLogger);
    const mine = events.filter((x) => x.matched?.messageId.includes(run));
    expect(mine.map((x) => [x.matched!.digest, x.reply!.kind === 'trigger-success' ? x.reply!.broadcastId : ''])).toEqual([
      ['utf8', '2001'],
      ['qp', '2002'],
      ['b64', '2003'],
      ['cp1252', '2004'],
    ]);
    const promo = events.find((x) => x.subject === `Promo ${run}`);
    expect(promo?.reply).toBeUndefined();

    const c2 = new ImapFlow({ host: '127.0.0.1', port: e.imapPort, secure: false, auth: { user: e.imapUser, pass: e.password }, logger: false });
    await c2.connect();
    const lock = await c2.getMailboxLock('INBOX');
    const unseen = (await c2.search({ seen: false }, { uid: true })) || [];
    const subjects: string[] = [];
    if (unseen.length) for await (const m of c2.fetch(unseen, { envelope: true }, { uid: true })) subjects.push(m.envelope?.subject ?? '');
    lock.release();
    await c2.logout();
    expect(subjects).toContain(`Promo ${run}`);
    expect(subjects.filter((s) => s === 'Re: x')).toEqual([]);
    expect((await store.all()).filter((s) => s.messageId.includes(run)).every((s) => s.reply?.kind === 'trigger-success')).toBe(true);
  });

  it("imap.moveTo: the folder is created with the server's separator, the replies moved there, not read again (issue #10)", async () => {
    const { ImapFlow } = await import('imapflow');
    const { MailStore } = await import('../../src/transport/mail-store.js');
    const { processReplies } = await import('../../src/transport/imap.js');
    const { REPLY_TEXTS } = await import('../../src/formats/mail.js');
    const run = `mv${Date.now().toString(36)}`;
    const stateDir = `/tmp/dmc-interop-mailstate-${run}`;
    const folder = `DMC${run}/Processed`;
    const cfg = await parseConfig(
      `service: {serviceId: "${e.serviceId}"}\nmail: {from: ops@client1.fr, stateDir: "${stateDir}", smtp: {host: 127.0.0.1, requireTLS: false}, imap: {host: 127.0.0.1, port: ${e.imapPort}, secure: false, username: "${e.imapUser}", password: "\${PW}", moveTo: "${folder}"}}\n`,
      '/tmp/interop-mail.yaml',
      { PW: e.password },
    );
    const store = new MailStore(stateDir);
    await store.sent({
      messageId: `<t-${run}@client1.fr>`,
      kind: 'email-trigger',
      to: 'dmc_admin@dmc.sfr-sh.fr',
      subject: 's',
      sentAt: new Date(Date.now() - 60_000).toISOString(),
      digest: 'd',
    });
    const c = new ImapFlow({ host: '127.0.0.1', port: e.imapPort, secure: false, auth: { user: e.imapUser, pass: e.password }, logger: false });
    await c.connect();
    await c.append(
      'INBOX',
      `From: DMC <dmc_admin@dmc.sfr-sh.fr>\r\nTo: ops@client1.fr\r\nSubject: Re: ${run}\r\nMessage-ID: <reply-${run}@dmc>\r\nIn-Reply-To: <t-${run}@client1.fr>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${REPLY_TEXTS.triggerSuccess('fr', 3001, '43', 1, '15/01/2027 09:00:00')}\r\n`,
    );
    const first = await processReplies(cfg.mail!, store, silentLogger);
    expect(first.filter((x) => x.subject === `Re: ${run}`).map((x) => x.matched?.messageId)).toEqual([`<t-${run}@client1.fr>`]);
    // Moved: in the folder (under the server's separator), gone from INBOX, not read again.
    const boxes = (await c.list()).map((b) => b.path);
    const made = boxes.find((p) => p.startsWith(`DMC${run}`) && p.endsWith('Processed'))!;
    expect(made).toBeDefined();
    const status = await c.status(made, { messages: true });
    expect(status && status.messages).toBe(1);
    await c.logout();
    const second = await processReplies(cfg.mail!, store, silentLogger);
    expect(second.filter((x) => x.subject === `Re: ${run}`)).toEqual([]);
  });
});
