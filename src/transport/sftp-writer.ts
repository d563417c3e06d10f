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
