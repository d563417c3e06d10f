import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileSource } from '../../src/transport/handshake.js';
import { guarded } from '../../src/transport/session.js';
import { TransportError, type UploadSource } from '../../src/transport/transport.js';
import { startTestServer, type TestServer } from '../helpers/servers.js';

for (const protocol of ['sftp', 'ftp'] as const) {
  describe(`${protocol} transport against the in-process server`, () => {
    let srv: TestServer;
    beforeAll(async () => {
      srv = await startTestServer(protocol);
    });
    afterAll(async () => {
      await srv.close();
    });

    it('uploads, stats, lists, downloads, renames and removes', async () => {
      const t = srv.transport();
      await t.connect();
      try {
        const data = Buffer.alloc(300_000, 'é');
        await t.upload(Readable.from([data]), 'in/a.csv.uploading');
        expect(await t.stat('in/a.csv.uploading')).toMatchObject({ size: data.length, type: 'file' });
        expect(await t.stat('in/nothing.csv')).toBeUndefined();
        await t.rename('in/a.csv.uploading', 'in/a.csv');
        const names = (await t.list('in')).map((e) => `${e.name}:${e.type}`).sort();
        expect(names).toEqual(['a.csv:file', 'failed:dir', 'processed:dir', 'processing:dir']);
        const sink = new PassThrough();
        const chunks: Buffer[] = [];
        sink.on('data', (c: Buffer) => chunks.push(c));
        expect(await t.download('in/a.csv', sink)).toBe(data.length);
        expect(Buffer.concat(chunks).equals(data)).toBe(true);
        expect(readFileSync(join(srv.root, 'in/a.csv')).equals(data)).toBe(true);
        await t.remove('in/a.csv');
        expect(await t.stat('in/a.csv')).toBeUndefined();
      } finally {
        await t.close();
      }
    });

    it('a missing remote file is NOT_FOUND on download', async () => {
      const t = srv.transport();
      await t.connect();
      try {
        await expect(t.download('out/none.csv', new PassThrough())).rejects.toMatchObject({ code: 'NOT_FOUND' });
      } finally {
        await t.close();
      }
    });

    it('a wrong password is AUTH, not transient', async () => {
      const { Secret } = await import('../../src/config/config.js');
      const t = srv.transport({ password: new Secret('wrong', 'test') });
      const e = await t.connect().then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(e).toBeInstanceOf(TransportError);
      expect(e).toMatchObject({ code: 'AUTH', transient: false });
      expect(String((e as Error).message)).not.toContain('wrong');
    });

    it('a closed port is CONNECT, transient', async () => {
      const t = srv.transport({ port: 1 });
      await expect(t.connect()).rejects.toMatchObject({ code: 'CONNECT', transient: true });
    });

    it('many transfers in a row over one session (the active-mode race)', async () => {
      const t = srv.transport();
      await t.connect();
      try {
        for (let i = 0; i < 60; i++) {
          const body = Buffer.from(`file ${i} `.repeat(i * 10 + 1));
          await t.upload(Readable.from([body]), `in/r${i}.txt`);
          const sink = new PassThrough();
          const got: Buffer[] = [];
          sink.on('data', (c: Buffer) => got.push(c));
          await t.download(`in/r${i}.txt`, sink);
          expect(Buffer.concat(got).equals(body)).toBe(true);
          if (i % 10 === 0) expect((await t.list('in')).length).toBeGreaterThan(3);
          await t.remove(`in/r${i}.txt`);
        }
      } finally {
        await t.close();
      }
    });

    it('a file source arrives whole, each chunk asked first with the running total, read into buffers the transport reuses (FTP two, SFTP one)', async () => {
      const path = join(srv.root, '..', `big-${protocol}.bin`);
      const data = randomBytes(5 * 1024 * 1024 + 12_345); // not a whole number of chunks
      writeFileSync(path, data);
      const source = await fileSource(path);
      const buffers = new Set<Buffer>();
      let reads = 0;
      const watched: UploadSource = {
        size: source.size,
        open: () => source.open(),
        openReader: async () => {
          const r = await source.openReader!();
          return {
            read: (into) => {
              buffers.add(into);
              reads++;
              return r.read(into);
            },
            close: () => r.close(),
          };
        },
      };
      const totals: number[] = [];
      const t = srv.transport();
      await t.connect();
      try {
        await t.upload(watched, 'in/big.bin.uploading', (sent) => totals.push(sent));
      } finally {
        await t.close();
      }
      expect(readFileSync(join(srv.root, 'in/big.bin.uploading')).equals(data)).toBe(true);
      expect(totals.at(-1)).toBe(data.length);
      expect(totals.every((n, i) => i === 0 || n > totals[i - 1]!)).toBe(true);
      // A file stream would allocate a buffer per chunk. FTP's loop reads into two in turn; SFTP into one, since ssh2
      // copies a WRITE's data inside sftp.write: the file arriving whole, with requests still in flight each time the
      // buffer is read into again, is what checks that against the real ssh2.
      expect(reads).toBeGreaterThan(5);
      expect(buffers.size).toBe(protocol === 'ftp' ? 2 : 1);
      expect(totals.length).toBe(reads - 1); // every chunk but the final empty read
    });

    it('a throw before a chunk stops the upload with that error; the chunk is not sent', async () => {
      const path = join(srv.root, '..', `stop-${protocol}.bin`);
      writeFileSync(path, randomBytes(4 * 1024 * 1024));
      const t = guarded(srv.transport(), () => allowed);
      let allowed = true;
      await t.connect();
      try {
        const err = await t
          .upload(await fileSource(path), 'in/stop.bin.uploading', (sent) => {
            if (sent > 1024 * 1024) allowed = false; // the next chunk is asked after this one went
          })
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        expect(err).toMatchObject({ code: 'DEPOSED' });
      } finally {
        await t.close();
      }
      // Nothing past the refused chunk reached the server.
      expect(statSync(join(srv.root, 'in/stop.bin.uploading'), { throwIfNoEntry: false })?.size ?? 0).toBeLessThan(4 * 1024 * 1024);
    });
  });
}

describe('sftp host keys', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer('sftp');
  });
  afterAll(async () => {
    await srv.close();
  });

  it('refuses an unknown host key, printing its fingerprint and the config line that pins it', async () => {
    const t = srv.transport({ hostKeys: [] });
    const e = (await t.connect().then(
      () => undefined,
      (x: unknown) => x,
    )) as TransportError;
    expect(e.code).toBe('HOST_KEY_UNKNOWN');
    expect(e.transient).toBe(false);
    expect(e.message).toContain(srv.sftp!.fingerprint);
    expect(e.message).toContain(`hostKey: "${srv.sftp!.fingerprint}"`);
  });

  it('refuses a changed host key as a possible man in the middle', async () => {
    const t = srv.transport({ hostKeys: ['SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'] });
    await expect(t.connect()).rejects.toMatchObject({ code: 'HOST_KEY_MISMATCH', message: expect.stringMatching(/HOST KEY CHANGED/) });
  });

  it('accepts a key from a known_hosts file, and records a new one only with acceptNewHostKey', async () => {
    const kh = join(srv.root, '..', 'known_hosts');
    writeFileSync(kh, '');
    await expect(srv.transport({ hostKeys: [], knownHosts: kh }).connect()).rejects.toMatchObject({ code: 'HOST_KEY_UNKNOWN' });
    const first = srv.transport({ hostKeys: [], knownHosts: kh, acceptNewHostKey: true });
    await first.connect();
    await first.close();
    expect(readFileSync(kh, 'utf8')).toMatch(new RegExp(`^\\[127\\.0\\.0\\.1\\]:${srv.sftp!.port} ssh-ed25519 `));
    const again = srv.transport({ hostKeys: [], knownHosts: kh });
    await again.connect();
    await again.close();
  });
});
