/**
 * Passive FTP (transport.ftp.mode: passive), which the platform refuses but
 * other servers need: the simulator refuses PASV as the platform does, so
 * this runs against a plain ftp-srv that offers it. A file goes through the
 * product's own upload loop (ftp-stor.ts) over the passive data connection.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ftpsrv from 'ftp-srv';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import { STOR_CHUNK } from '../../src/transport/ftp-stor.js';
import { createTransport, fileSource, silentLogger } from '../../src/transport/index.js';

const { FtpSrv } = ftpsrv as unknown as { FtpSrv: typeof import('ftp-srv').FtpSrv };

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

describe('passive FTP', () => {
  let root: string;
  let server: InstanceType<typeof FtpSrv>;
  let port: number;
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'dmc-pasv-'));
    port = await freePort();
    server = new FtpSrv({ url: `ftp://127.0.0.1:${port}`, pasv_url: '127.0.0.1', anonymous: false, log: pino({ level: 'silent' }) });
    server.on('login', ({ username, password }, resolve, reject) =>
      username === 'dmc' && password === 'pw' ? resolve({ root }) : reject(new Error('Login incorrect')),
    );
    server.on('client-error', () => undefined);
    await server.listen();
  });
  afterAll(async () => {
    await server.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('uploads a file through the reused-buffer loop and lists it', async () => {
    const cfg = await parseConfig(
      `service: {serviceId: "12345678"}\ntransport: {protocol: ftp, host: 127.0.0.1, port: ${port}, username: dmc, password: "\${PW}", ftp: {mode: passive}}\n`,
      '/tmp/pasv.yaml',
      { PW: 'pw' },
    );
    const data = randomBytes(3 * STOR_CHUNK + 5);
    const local = join(root, '..', `${Date.now()}-pasv.bin`);
    writeFileSync(local, data);
    const t = createTransport(cfg, silentLogger);
    await t.connect();
    const totals: number[] = [];
    try {
      await t.upload(await fileSource(local), 'up.bin', (n) => totals.push(n));
      expect(await t.sizeOfUploaded('up.bin')).toBe(data.length);
      expect((await t.list('.')).map((e) => e.name)).toContain('up.bin');
    } finally {
      await t.close();
      rmSync(local, { force: true });
    }
    expect(readFileSync(join(root, 'up.bin')).equals(data)).toBe(true);
    expect(totals).toEqual([STOR_CHUNK, 2 * STOR_CHUNK, 3 * STOR_CHUNK, data.length]);
  });
});
