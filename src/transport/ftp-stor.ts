/**
 * STOR from a local file, written to the data connection by a loop of our
 * own instead of basic-ftp's `pipeline(stream, dataSocket)`.
 *
 * Why: a file stream hands over a new buffer for every chunk it reads. On a
 * 200 MB upload over loopback the process then spent about 300 ms of CPU,
 * against about 90 ms when two buffers are read into in turn and reused,
 * and on two cores that CPU is taken from the FTP server (#19.7,
 * bench/transport.mjs). The loop reads chunk i+1 while chunk i is being
 * written, and a buffer is read into again only once the socket has called
 * back for its write: no byte the server has not taken is ever overwritten.
 *
 * The rest is what basic-ftp's `uploadFrom` does around its pipe, on the
 * same internals the active mode already relies on (ftp-active.ts;
 * basic-ftp is pinned to ~6.2): the first 150/125 starts the data, the
 * control connection's idle timeout is off while data flows and a watchdog
 * watches the data connection for a stalled server instead, and the task
 * resolves once the data connection is finished and the 226 is in.
 */
import type { Socket } from 'node:net';
import type { Client, FTPResponse } from 'basic-ftp';
import { TransferWatchdog } from 'basic-ftp/dist/TransferWatchdog.js';
import type { BeforeChunk, ChunkReader } from './transport.js';

/** Bytes per read and per write: a 200 MB file in 200 writes; smaller files get a buffer of their size. */
export const STOR_CHUNK = 1024 * 1024;

type Task = { resolve: (v: unknown) => void; reject: (e: unknown) => void };
type Handle = (command: string, handler: (res: Error | FTPResponse, task: Task) => void) => Promise<unknown>;

/** Sends `reader` to `remotePath` over the client's next data connection (active or passive, as prepared). */
export async function storFromReader(client: Client, remotePath: string, reader: ChunkReader, size: number, beforeChunk?: BeforeChunk): Promise<FTPResponse> {
  const ftp = client.ftp;
  try {
    const path = await client.protectWhitespace(remotePath);
    await client.prepareTransfer(ftp);
    const watchdog = new TransferWatchdog();
    let started = false;
    let settled = false;
    let dataDone = false;
    let reply: FTPResponse | undefined;
    const handle = (ftp as unknown as { handle: Handle }).handle.bind(ftp);
    return (await handle(`STOR ${path}`, (res, task) => {
      const fail = (err: unknown): void => {
        if (settled) return;
        settled = true;
        watchdog.stop();
        ftp.socket.setTimeout(ftp.timeout);
        ftp.dataSocket = undefined; // closes it: a write still pending fails, and the loop ends
        task.reject(err);
      };
      const tryResolve = (): void => {
        if (settled || !dataDone || !reply) return;
        settled = true;
        ftp.dataSocket = undefined;
        task.resolve(reply);
      };
      if (res instanceof Error) return fail(res);
      if (res.code === 150 || res.code === 125) {
        // A well-behaved server sends one of them; a second must not start the data twice.
        if (started) return;
        started = true;
        const socket = ftp.dataSocket as Socket | undefined;
        if (!socket) return fail(new Error('the upload should begin but no data connection is open'));
        const go = (): void => {
          ftp.socket.setTimeout(0);
          watchdog.start(socket, 'upload', ftp.timeout, () => ftp.closeWithError(new Error('Timeout (data socket)')));
          writeAll(socket, reader, size, beforeChunk).then(
            () => {
              watchdog.stop();
              ftp.socket.setTimeout(ftp.timeout);
              dataDone = true;
              tryResolve();
            },
            // A read error, a refusal from beforeChunk or a data connection lost: the session is closed, as basic-ftp
            // does when its source fails (the server's view of the transfer is unknown); the caller's retry reconnects.
            (err: unknown) => {
              if (!settled) ftp.closeWithError(err as Error);
            },
          );
        };
        // Over TLS, the data starts once the data connection's handshake is done.
        if ('getCipher' in socket && (socket as { getCipher(): unknown }).getCipher() === undefined) socket.once('secureConnect', go);
        else go();
        return;
      }
      if (res.code >= 200 && res.code < 300) {
        reply = res;
        return tryResolve();
      }
      if (res.code >= 300 && res.code < 400) ftp.closeWithError(new Error(`unexpected FTP reply asking for more during STOR: ${res.message}`));
    })) as FTPResponse;
  } finally {
    await reader.close().catch(() => undefined);
  }
}

/**
 * Reads into two buffers in turn and writes each to the socket; a buffer is
 * read into again only once its write has called back. Ends the socket after
 * the last chunk. `beforeChunk` is asked before each write.
 */
export async function writeAll(socket: Socket, reader: ChunkReader, size: number, beforeChunk?: BeforeChunk): Promise<void> {
  const length = Math.max(64 * 1024, Math.min(STOR_CHUNK, size));
  const buffers = [Buffer.allocUnsafeSlow(length), Buffer.allocUnsafeSlow(length)];
  const written: Promise<void>[] = [Promise.resolve(), Promise.resolve()];
  let sent = 0;
  for (let i = 0; ; i ^= 1) {
    await written[i];
    const buffer = buffers[i]!;
    const n = await reader.read(buffer);
    if (n === 0) break;
    sent += n;
    beforeChunk?.(sent);
    const p = write(socket, n === length ? buffer : buffer.subarray(0, n));
    p.catch(() => undefined); // awaited in its turn; not an unhandled rejection meanwhile
    written[i] = p;
  }
  await Promise.all(written);
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.end(() => {
      socket.removeListener('error', reject);
      resolve();
    });
  });
}

function write(socket: Socket, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => socket.write(chunk, (err) => (err ? reject(err) : resolve())));
}
