/**
 * An SFTP upload with its write requests pipelined. ssh2's write stream
 * sends one WRITE and waits for its status before the next, so a transfer
 * runs at one request per round trip; OpenSSH's `sftp` keeps 64 requests of
 * 32 KiB in flight. This writer does the same: requests issued in file order
 * (never out of order, unlike `fastPut`), each at its own offset, at most
 * WINDOW unanswered, the file closed only once every request is answered.
 * The first failure fails the stream; nothing is retried here (the upload
 * handshake retries whole uploads under a fresh temporary name).
 */
import { Writable } from 'node:stream';
import type { SFTPWrapper } from 'ssh2';
import type { BeforeChunk, ChunkReader } from './transport.js';

/** Bytes per WRITE request and requests in flight: OpenSSH sftp's defaults (-B 32768 -R 64). */
export const PIECE = 32 * 1024;
export const WINDOW = 64;

export class PipelinedSftpWriter extends Writable {
  private handle: Buffer | undefined;
  private position = 0;
  private inFlight = 0;
  private failure: Error | undefined;
  private waiter: (() => void) | undefined;

  constructor(
    private readonly sftp: SFTPWrapper,
    private readonly path: string,
  ) {
    super({ highWaterMark: PIECE * 8 });
  }

  override _construct(callback: (error?: Error | null) => void): void {
    this.sftp.open(this.path, 'w', (err, handle) => {
      if (err) return callback(err);
      this.handle = handle;
      callback();
    });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    for (let off = 0; off < chunk.length && !this.failure; off += PIECE) this.send(chunk, off, Math.min(PIECE, chunk.length - off));
    this.when(() => this.inFlight < WINDOW, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.when(
      () => this.inFlight === 0,
      (err) => {
        if (err) return callback(err);
        const handle = this.handle!;
        this.handle = undefined;
        this.sftp.close(handle, (e) => callback(e ?? null));
      },
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const handle = this.handle;
    this.handle = undefined;
    if (!handle) return callback(error);
    // Best effort: the session may be gone already, and the error that destroyed the stream is the one to report.
    try {
      this.sftp.close(handle, () => callback(error));
    } catch {
      callback(error);
    }
  }

  private send(buffer: Buffer, offset: number, length: number): void {
    this.inFlight++;
    this.sftp.write(this.handle!, buffer, offset, length, this.position, (err) => {
      this.inFlight--;
      if (err && !this.failure) this.failure = err;
      const w = this.waiter;
      this.waiter = undefined;
      w?.();
    });
    this.position += length;
  }

  /** Calls back once `ready()` holds, or with the first failure. One waiter at a time: Writable calls _write and _final one after the other. */
  private when(ready: () => boolean, callback: (error?: Error | null) => void): void {
    const check = (): void => {
      if (this.failure) return callback(this.failure);
      if (ready()) return callback();
      this.waiter = check;
    };
    check();
  }
}

/** Bytes read from a local file at a time: eight pieces, one read per eight WRITE requests. */
export const READ_CHUNK = PIECE * 8;

/**
 * The WRITE size at which ssh2 copies all of a request's data inside
 * `sftp.write`, or undefined when this session does not say. ssh2 splits a
 * WRITE longer than its session's maximum (256 KiB less 2 KiB against
 * OpenSSH, or what the server's limits@openssh.com says; 34,000 bytes less
 * 2 KiB against other servers) and sends the rest only once the first part
 * is answered, from the caller's buffer, which by then would hold other
 * bytes. Pieces no longer than the maximum are copied whole at once.
 * `_maxWriteLen` is ssh2's own field (ssh2 is pinned to ~1.17).
 */
export function reuseSafePiece(sftp: SFTPWrapper): number | undefined {
  const max = (sftp as unknown as { _maxWriteLen?: unknown })._maxWriteLen;
  return typeof max === 'number' && Number.isInteger(max) && max > 0 ? Math.min(PIECE, max) : undefined;
}

/** An upload under way from a `ChunkReader`: `done` settles with it; `destroy` stops it (the session is going). */
export interface ReaderUpload {
  readonly done: Promise<void>;
  destroy(error?: Error): void;
}

/**
 * Uploads a local file from `reader`, with the same requests in flight as
 * `PipelinedSftpWriter`, read into one buffer reused for the whole file.
 *
 * Why: a file stream hands over a new buffer per chunk, on top of the two
 * that ssh2 allocates per request (the request, then the encrypted packet).
 * On a 200 MB upload that is 200 MB more for the garbage collector, and in
 * some processes V8 then ran a full mark-compact every few megabytes and
 * the upload took twice its CPU (#19.7). The buffer can be reused at once
 * because ssh2 copies a WRITE's data into its request inside `sftp.write`
 * (SFTP.js, `write`: `bufferCopy(buf, out, ...)` before the request is
 * sent or queued), for pieces no longer than its session's maximum
 * (`reuseSafePiece`); a test against the real ssh2 checks every byte.
 *
 * `beforeChunk` is asked before each read chunk's requests go out.
 */
export function uploadFromReader(sftp: SFTPWrapper, path: string, reader: ChunkReader, beforeChunk?: BeforeChunk): ReaderUpload {
  const piece = reuseSafePiece(sftp);
  if (piece === undefined) throw new Error('uploadFromReader: this ssh2 session does not say how much one WRITE request carries');
  let failure: Error | undefined;
  let waiter: (() => void) | undefined;
  let inFlight = 0;
  const wake = (): void => {
    const w = waiter;
    waiter = undefined;
    w?.();
  };
  const until = (ready: () => boolean): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (failure) return reject(failure);
        if (ready()) return resolve();
        waiter = check;
      };
      check();
    });
  const done = (async () => {
    const handle = await new Promise<Buffer>((resolve, reject) => sftp.open(path, 'w', (err, h) => (err ? reject(err) : resolve(h))));
    let open = true;
    try {
      const buffer = Buffer.allocUnsafeSlow(READ_CHUNK);
      let position = 0;
      for (;;) {
        await until(() => inFlight < WINDOW);
        const n = await reader.read(buffer);
        if (failure) throw failure;
        if (n === 0) break;
        beforeChunk?.(position + n);
        for (let off = 0; off < n; off += piece) {
          const len = Math.min(piece, n - off);
          inFlight++;
          sftp.write(handle, buffer, off, len, position, (err) => {
            inFlight--;
            if (err) failure ??= err;
            wake();
          });
          position += len;
        }
      }
      await until(() => inFlight === 0);
      open = false;
      await new Promise<void>((resolve, reject) => sftp.close(handle, (err) => (err ? reject(err) : resolve())));
    } finally {
      // Best effort, as the stream's destroy: the session may be gone already, and the first error is the one to report.
      if (open) {
        try {
          sftp.close(handle, () => undefined);
        } catch {
          // the channel is closed
        }
      }
    }
  })();
  return {
    done,
    destroy: (error) => {
      failure ??= error ?? new Error('upload aborted');
      wake();
    },
  };
}
