import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/transport/logger.js';
import { fetchReports } from '../../src/transport/reports.js';
import { Session } from '../../src/transport/session.js';
import {
  fileSource,
  resolveRemoteRoot,
  sendTrigger,
  trackOutcome,
  uniqueRemoteName,
  uploadWithHandshake,
  type SendStep,
} from '../../src/transport/handshake.js';
import { TransportError } from '../../src/transport/transport.js';
import { startTestServer, type TestServer } from '../helpers/servers.js';

/** Plays the platform's part in tests: takes files from in/ as the guide says (documents to a store). */
function platform(root: string) {
  return {
    takeDocuments(): void {
      for (const f of readdirSync(join(root, 'in'))) {
        if (/\.(wav|pdf|html|jpg|gif|txt|3gp)$/i.test(f)) {
          mkdirSync(join(root, '..', 'store'), { recursive: true });
          renameSync(join(root, 'in', f), join(root, '..', 'store', f));
        }
      }
    },
    move(name: string, to: 'processing' | 'processed' | 'failed' | 'archive'): void {
      const from = ['in', 'in/processing'].map((d) => join(root, d, name)).find((p) => existsSync(p))!;
      if (to === 'archive') rmSync(from);
      else renameSync(from, join(root, 'in', to, name));
    },
  };
}

for (const protocol of ['sftp', 'ftp'] as const) {
  describe(`${protocol}: the DMC handshake`, () => {
    let srv: TestServer;
    let local: string;
    beforeAll(async () => {
      srv = await startTestServer(protocol);
      local = join(srv.root, '..', 'local');
      mkdirSync(local, { recursive: true });
    });
    afterAll(async () => {
      await srv.close();
    });
    afterEach(() => {
      srv.events.length = 0;
    });

    const session = (): Session => new Session(() => srv.transport(), { retries: srv.config.retries, logger: silentLogger });
    const opts = (onStep?: (s: SendStep) => void) => ({ remoteRoot: '.', timeouts: srv.config.timeouts, logger: silentLogger, ...(onStep ? { onStep } : {}) });

    it('finds the remote root at the login folder', async () => {
      const s = session();
      try {
        expect(await resolveRemoteRoot(s, '12345678')).toBe('.');
      } finally {
        await s.close();
      }
    });

    it('sends documents first, waits until they are taken, then the trigger; no final name is ever written directly', async () => {
      writeFileSync(join(local, 'TESTFAX.pdf'), Buffer.alloc(50_000, 1));
      writeFileSync(join(local, 'fax.csv'), '#COMMAND\n...\n');
      const p = platform(srv.root);
      const steps: SendStep[] = [];
      const s = session();
      try {
        const taker = setInterval(() => p.takeDocuments(), 20);
        const r = await sendTrigger(
          s,
          { trigger: join(local, 'fax.csv'), documents: [join(local, 'TESTFAX.pdf')] },
          opts((x) => steps.push(x)),
        );
        clearInterval(taker);
        expect(r.remoteName).toMatch(/^fax_\d{8}T\d{6}_[0-9a-f]{8}\.csv$/);
        expect(readFileSync(join(srv.root, 'in', r.remoteName), 'utf8')).toBe('#COMMAND\n...\n');
        const writes = srv.events.filter((e) => e.op === 'open-write').map((e) => (e as { path: string }).path);
        expect(writes.every((w) => w.endsWith('.uploading'))).toBe(true);
        const renames = srv.events.filter((e) => e.op === 'rename').map((e) => (e as { to: string }).to);
        expect(renames).toEqual(['/in/TESTFAX.pdf', `/in/${r.remoteName}`]);
        const docRename = srv.events.findIndex((e) => e.op === 'rename');
        const triggerWrite = srv.events.findIndex((e) => e.op === 'open-write' && (e as { path: string }).path.includes('fax_'));
        expect(docRename).toBeLessThan(triggerWrite);
        expect(steps.map((x) => x.step)).toEqual(['upload-start', 'uploaded', 'documents-waiting', 'documents-taken', 'upload-start', 'uploaded']);
      } finally {
        await s.close();
      }
    });

    it('never sends the trigger when the documents are not taken in time', async () => {
      writeFileSync(join(local, 'TESTWAV.wav'), Buffer.alloc(1000));
      writeFileSync(join(local, 'voice.csv'), 'x');
      const s = session();
      try {
        const e = await sendTrigger(
          s,
          { trigger: join(local, 'voice.csv'), documents: [join(local, 'TESTWAV.wav')] },
          { ...opts(), timeouts: { ...srv.config.timeouts, documentsTaken: 0.3 } },
        ).catch((x: unknown) => x);
        expect(e).toBeInstanceOf(TransportError);
        expect((e as Error).message).toMatch(/has not taken TESTWAV\.wav.*trigger was not sent/);
        expect(readdirSync(join(srv.root, 'in')).filter((f) => f.startsWith('voice'))).toEqual([]);
      } finally {
        await s.close();
        rmSync(join(srv.root, 'in', 'TESTWAV.wav'), { force: true });
      }
    });

    it('refuses to overwrite: a final name that exists is TARGET_EXISTS, and the file is untouched', async () => {
      writeFileSync(join(srv.root, 'in', 'dup.csv'), 'theirs');
      writeFileSync(join(local, 'dup.csv'), 'mine');
      const s = session();
      try {
        await expect(sendTrigger(s, { trigger: join(local, 'dup.csv'), remoteName: 'dup.csv' }, opts())).rejects.toMatchObject({
          code: 'TARGET_EXISTS',
          transient: false,
        });
        expect(readFileSync(join(srv.root, 'in', 'dup.csv'), 'utf8')).toBe('theirs');
      } finally {
        await s.close();
        rmSync(join(srv.root, 'in', 'dup.csv'));
      }
    });

    it('refuses a document name with a path', async () => {
      const s = session();
      try {
        await expect(sendTrigger(s, { trigger: join(local, 'fax.csv'), remoteName: '../escape.csv' }, opts())).rejects.toMatchObject({ code: 'PERMISSION' });
      } finally {
        await s.close();
      }
    });

    it('tracks the outcome: processed, failed, unknown (archived unseen), timeout', async () => {
      const p = platform(srv.root);
      const s = session();
      try {
        for (const [name, path, expected] of [
          ['a.csv', ['processing', 'processed'], 'processed'],
          ['b.csv', ['failed'], 'failed'],
          ['c.csv', ['archive'], 'unknown'],
          ['d.csv', [], 'timeout'],
        ] as const) {
          writeFileSync(join(srv.root, 'in', name), 'x');
          const seen: string[] = [];
          const moves = [...path];
          const mover = setInterval(() => {
            const m = moves.shift();
            if (m) p.move(name, m);
          }, 60);
          const outcome = await trackOutcome(s, '.', name, {
            timeouts: { ...srv.config.timeouts, outcome: 0.6 },
            onStep: (x) => {
              if (x.step === 'outcome-seen') seen.push(x.where);
            },
          });
          clearInterval(mover);
          expect(outcome, name).toBe(expected);
          if (expected === 'processed') expect(seen).toContain('processed');
        }
      } finally {
        await s.close();
      }
    });

    it('the server dying in the middle of an upload: no partial file under its final name, and the retry succeeds', async () => {
      const big = Buffer.alloc(8 * 1024 * 1024, 7);
      writeFileSync(join(local, 'big.csv'), big);
      let dropped = false;
      const watcher = setInterval(() => {
        const tmp = readdirSync(join(srv.root, 'in')).find((f) => f.endsWith('.uploading'));
        if (!dropped && tmp && statSync(join(srv.root, 'in', tmp)).size > 1024 * 1024) {
          dropped = true;
          srv.sftp?.dropConnections();
          srv.ftp?.dropConnections();
          // No partial content under a final name at the moment of the fault.
          expect(readdirSync(join(srv.root, 'in')).filter((f) => f.startsWith('big_'))).toEqual([tmp]);
        }
      }, 5);
      const s = new Session(() => srv.transport(), { retries: { attempts: 3, minDelay: 0.05, maxDelay: 0.1 }, logger: silentLogger });
      try {
        const r = await sendTrigger(s, { trigger: join(local, 'big.csv') }, opts());
        expect(dropped).toBe(true);
        expect(readFileSync(join(srv.root, 'in', r.remoteName)).equals(big)).toBe(true);
        expect(readdirSync(join(srv.root, 'in')).filter((f) => f.endsWith('.uploading'))).toEqual([]);
      } finally {
        clearInterval(watcher);
        await s.close();
      }
    });

    it('a file source counts its own reads: progress rises to the file size, and the file arrives whole', async () => {
      const body = Buffer.alloc(2_500_003); // over two chunks of the FTP loop (1 MiB) and many of a file stream (256 KiB)
      for (let i = 0; i < body.length; i++) body[i] = (i * 31) & 0xff;
      writeFileSync(join(local, 'big.pdf'), body);
      const source = await fileSource(join(local, 'big.pdf'));
      const seen: [number, number][] = [];
      const s = session();
      try {
        const n = await uploadWithHandshake(s, source, 'in', 'big.pdf', silentLogger, { onBytes: (sent, total) => seen.push([sent, total]) });
        expect(n).toBe(body.length);
      } finally {
        await s.close();
      }
      expect(seen.length).toBeGreaterThan(1);
      expect(seen.every(([, total]) => total === body.length)).toBe(true);
      expect(seen.every(([sent], i) => i === 0 || sent > seen[i - 1]![0])).toBe(true);
      expect(seen.at(-1)![0]).toBe(body.length);
      expect(readFileSync(join(srv.root, 'in', 'big.pdf')).equals(body)).toBe(true);
      rmSync(join(srv.root, 'in', 'big.pdf'));
    });
  });

  describe(`${protocol}: reports`, () => {
    let srv: TestServer;
    beforeAll(async () => {
      srv = await startTestServer(protocol);
    });
    afterAll(async () => {
      await srv.close();
    });

    const report =
      'broadcastId;contactId;externalReference;name;forename;callResult;callAdress;callDate;callAttempts\n1;2;R;Nom;Prénom;SMS reçu;+33612345678;2027/01/15 10:00:00;1\n';

    it('downloads, keeps, and acks each report; a report whose ack failed is acked next time, not downloaded twice', async () => {
      const dir = join(srv.root, '..', 'reports');
      writeFileSync(join(srv.root, 'out', 'CRA_12345678_2027-01-15.csv'), report, 'latin1');
      writeFileSync(join(srv.root, 'out', 'CRA_12345678_2027-01-16.csv'), report + report.split('\n')[1] + '\n', 'latin1');
      writeFileSync(join(srv.root, 'out', 'CRA_99999999_2027-01-16.csv'), 'other service');
      writeFileSync(join(srv.root, 'out', 'README.txt'), 'not a report');
      // The first run loses its connection at the moment the first ack starts to be written.
      let cut = false;
      srv.onEvent = (e) => {
        if (!cut && e.op === 'open-write' && e.path.includes('/out/ack/')) {
          cut = true;
          srv.sftp?.dropConnections();
          srv.ftp?.dropConnections();
        }
      };
      const s1 = new Session(() => srv.transport(), { retries: { attempts: 0, minDelay: 0.01, maxDelay: 0.01 }, logger: silentLogger });
      const first = await fetchReports(s1, { remoteRoot: '.', serviceId: '12345678', dir, ackNaming: 'replace', logger: silentLogger }).catch(
        (e: unknown) => e,
      );
      srv.onEvent = undefined;
      await s1.close();
      expect(first).toBeInstanceOf(TransportError);
      expect(readFileSync(join(dir, 'CRA_12345678_2027-01-15.csv'), 'latin1')).toBe(report);

      const s2 = new Session(() => srv.transport(), { retries: srv.config.retries, logger: silentLogger });
      const reads = (): number => srv.events.filter((e) => e.op === 'read' && (e as { path: string }).path.endsWith('2027-01-15.csv')).length;
      const readsBefore = reads();
      const second = await fetchReports(s2, { remoteRoot: '.', serviceId: '12345678', dir, ackNaming: 'replace', logger: silentLogger });
      await s2.close();
      expect(second.map((r) => [r.name, r.fetched, r.ack])).toEqual([
        ['CRA_12345678_2027-01-15.csv', 'present', 'acked'],
        ['CRA_12345678_2027-01-16.csv', 'downloaded', 'acked'],
      ]);
      expect(reads()).toBe(readsBefore);
      expect(readdirSync(join(srv.root, 'out', 'ack')).sort()).toEqual(['CRA_12345678_2027-01-15.ack', 'CRA_12345678_2027-01-16.ack']);
      expect(readFileSync(join(srv.root, 'out', 'ack', 'CRA_12345678_2027-01-15.ack')).length).toBe(0);
      expect(readdirSync(dir).sort()).toEqual(['CRA_12345678_2027-01-15.csv', 'CRA_12345678_2027-01-16.csv']);
    });

    it('names acks by appending .ack when asked, and leaves an ack already waiting alone', async () => {
      const dir = join(srv.root, '..', 'reports2');
      for (const f of readdirSync(join(srv.root, 'out', 'ack'))) rmSync(join(srv.root, 'out', 'ack', f));
      const s = new Session(() => srv.transport(), { retries: srv.config.retries, logger: silentLogger });
      try {
        const a = await fetchReports(s, { remoteRoot: '.', serviceId: '12345678', dir, ackNaming: 'append', logger: silentLogger });
        expect(a.map((r) => r.ack)).toEqual(['acked', 'acked']);
        expect(readdirSync(join(srv.root, 'out', 'ack')).sort()).toEqual(['CRA_12345678_2027-01-15.csv.ack', 'CRA_12345678_2027-01-16.csv.ack']);
        const b = await fetchReports(s, { remoteRoot: '.', serviceId: '12345678', dir, ackNaming: 'append', logger: silentLogger });
        expect(b.map((r) => [r.fetched, r.ack])).toEqual([
          ['present', 'ack-pending'],
          ['present', 'ack-pending'],
        ]);
      } finally {
        await s.close();
      }
    });
  });
}

describe('unique remote names', () => {
  it('are the local name, a UTC timestamp and 8 hex digits of the content hash, path-safe', () => {
    expect(uniqueRemoteName('Campagne été 2027.csv', 'abcdef0123456789', new Date('2027-01-15T09:00:00.123Z'))).toBe(
      'Campagne_t_2027_20270115T090000_abcdef01.csv',
    );
    expect(uniqueRemoteName('x.XML', 'ff'.repeat(32), new Date(0))).toBe('x_19700101T000000_ffffffff.xml');
  });
});
