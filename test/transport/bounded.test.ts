/**
 * Every remote operation is bounded (issue #9, defect 12): with the server
 * silent (a black hole between client and server), an upload ends at
 * `timeouts.transfer` and a command at `timeouts.idle` with TIMEOUT, the
 * connection dropped; not a minute later when the SSH keepalive gives up.
 */
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTransport } from '../../src/transport/connect.js';
import { silentLogger } from '../../src/transport/logger.js';
import { TransportError, type Transport } from '../../src/transport/transport.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { startTestServer, type TestServer } from '../helpers/servers.js';

for (const protocol of ['sftp', 'ftp'] as const) {
  describe(`${protocol}: a silent server`, () => {
    let server: TestServer;
    let proxy: FaultProxy;
    let t: Transport;
    beforeAll(async () => {
      server = await startTestServer(protocol);
      const port = protocol === 'sftp' ? server.sftp!.port : server.ftp!.port;
      proxy = new FaultProxy({ host: '127.0.0.1', port });
      await proxy.start();
      t = createTransport(
        {
          ...server.config,
          transport: { ...server.config.transport, port: proxy.port },
          timeouts: { ...server.config.timeouts, connect: 2, idle: 1, transfer: 2 },
        },
        silentLogger,
      );
    });
    afterAll(async () => {
      await t.close();
      await proxy.close();
      await server.close();
    });

    it('an upload stalled by a black hole fails with TIMEOUT (timeouts.transfer), the connection dropped', async () => {
      await t.connect();
      // 4 MB, so the transfer is in flight when the network goes silent.
      let sent = 0;
      const source = new Readable({
        read() {
          if (sent === 0) proxy.blackHole(30_000);
          if (sent >= 4 << 20) {
            this.push(null);
            return;
          }
          sent += 64 << 10;
          this.push(Buffer.alloc(64 << 10, 65));
        },
      });
      const err = await t.upload(source, 'in/stalled.csv.uploading').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(TransportError);
      expect(['TIMEOUT', 'CONNECTION_LOST'], (err as Error).message).toContain((err as TransportError).code);
      if (protocol === 'sftp') expect((err as TransportError).code).toBe('TIMEOUT');
      expect((err as TransportError).transient).toBe(true);
      if (protocol === 'sftp') expect((err as Error).message).toMatch(/timeouts\.transfer/);
    }, 15_000);

    it('a command with no answer fails with TIMEOUT (timeouts.idle)', async () => {
      proxy.blackHole(0);
      await t.close();
      await t.connect();
      proxy.blackHole(30_000);
      const err = await t.stat('in').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(TransportError);
      expect((err as TransportError).transient).toBe(true);
      if (protocol === 'sftp') expect((err as Error).message).toMatch(/timeouts\.idle/);
    }, 15_000);
  });
}
