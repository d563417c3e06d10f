/**
 * Issue #19.7: SFTP uploads keep requests in flight as OpenSSH's sftp does.
 * The writer is driven against a recording SFTP channel whose answers the
 * test releases: requests go out in file order at contiguous offsets, up to
 * the window before any answer, the file is closed only after every answer,
 * and the first failure fails the stream with nothing sent after it.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { SFTPWrapper } from 'ssh2';
import { describe, expect, it } from 'vitest';
import { PIECE, PipelinedSftpWriter, READ_CHUNK, reuseSafePiece, uploadFromReader, WINDOW } from '../../src/transport/sftp-writer.js';
import type { ChunkReader } from '../../src/transport/transport.js';

type Answer = (err?: Error) => void;
class RecordingChannel {
  readonly writes: { position: number; data: Buffer; answer: Answer }[] = [];
  readonly log: string[] = [];
  /** The buffer each request's data was taken from. */
  readonly sources: Buffer[] = [];
  maxInFlight = 0;
  inFlight = 0;
  /** Answer every request as soon as it is sent (after a turn of the event loop). */
  auto = false;
  failAt: number | undefined;
  open(path: string, _flags: string, cb: (err: Error | undefined, h: Buffer) => void): void {
    this.log.push(`open ${path}`);
    setImmediate(() => cb(undefined, Buffer.from('h1')));
  }
  /** ssh2's session maximum for one WRITE (its own field): 256 KiB less 2 KiB against OpenSSH. */
  _maxWriteLen = 256 * 1024 - 2048;
  write(_h: Buffer, buf: Buffer, off: number, len: number, position: number, cb: (err?: Error) => void): void {
    // As ssh2 does: a WRITE over the maximum is split, and the rest is sent once the first part is answered, from the
    // caller's buffer as it is then.
    if (len > this._maxWriteLen) {
      const first = this._maxWriteLen;
      return this.write(_h, buf, off, first, position, (err) => (err ? cb(err) : this.write(_h, buf, off + first, len - first, position + first, cb)));
    }
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const index = this.writes.length;
    const answer: Answer = (err) => {
      this.inFlight--;
      cb(err);
    };
    // Copied at once, as ssh2 copies a WRITE's data into its request inside sftp.write.
    this.writes.push({ position, data: Buffer.from(buf.subarray(off, off + len)), answer });
    this.sources.push(buf);
    if (this.auto) setImmediate(() => answer(index === this.failAt ? Object.assign(new Error('Failure'), { code: 4 }) : undefined));
  }
  close(_h: Buffer, cb: (err?: Error) => void): void {
    this.log.push(`close with ${this.inFlight} unanswered`);
    setImmediate(() => cb());
  }
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('PipelinedSftpWriter', () => {
  it('keeps up to the window in flight before any answer, in file order, and closes only when all are answered', async () => {
    const ch = new RecordingChannel();
    const data = randomBytes(PIECE * (WINDOW + 10) + 123);
    const done = pipeline(
      Readable.from([data.subarray(0, 100_000), data.subarray(100_000)]),
      new PipelinedSftpWriter(ch as unknown as SFTPWrapper, 'in/x.uploading'),
    );
    for (let i = 0; i < 20; i++) await tick();
    // Nothing answered yet: the writer has sent a full window (the last chunk's pieces may pass it by less than a chunk).
    expect(ch.writes.length).toBeGreaterThanOrEqual(WINDOW);
    expect(ch.log).toEqual(['open in/x.uploading']);
    // Answer in any order: the writer goes on, and closes after the last answer only.
    while (ch.writes.some((w) => w.answer)) {
      const pending = ch.writes.filter((w) => w.answer);
      for (const w of pending.reverse()) {
        const a = w.answer;
        (w as { answer?: Answer }).answer = undefined;
        a();
      }
      await tick();
      await tick();
    }
    await done;
    expect(ch.log).toEqual(['open in/x.uploading', 'close with 0 unanswered']);
    let expected = 0;
    for (const w of ch.writes) {
      expect(w.position).toBe(expected);
      expect(w.data.length).toBeLessThanOrEqual(PIECE);
      expected += w.data.length;
    }
    expect(Buffer.concat(ch.writes.map((w) => w.data)).equals(data)).toBe(true);
    expect(ch.maxInFlight).toBeGreaterThan(1);
  });

  it('the first failed request fails the upload; no request is sent after the failure is known and the handle is closed', async () => {
    const ch = new RecordingChannel();
    ch.auto = true;
    ch.failAt = 3;
    const data = randomBytes(PIECE * WINDOW * 4);
    const chunks = Array.from({ length: 64 }, (_, i) => data.subarray(i * (data.length / 64), (i + 1) * (data.length / 64)));
    const writer = new PipelinedSftpWriter(ch as unknown as SFTPWrapper, 'in/y.uploading');
    await expect(pipeline(Readable.from(chunks), writer)).rejects.toMatchObject({ code: 4 });
    // Sent before the failure was known: at most a window and a chunk's pieces; not the whole file.
    expect(ch.writes.length).toBeLessThan(data.length / PIECE);
    await tick();
    expect(ch.log.at(-1)).toMatch(/^close/);
  });
});

/** A ChunkReader over bytes in memory, reading at most `into.length` at a time, as a file's does. */
function memoryReader(data: Buffer): ChunkReader & { closed: boolean } {
  let position = 0;
  return {
    closed: false,
    read: async (into) => {
      await tick();
      const n = data.copy(into, 0, position, Math.min(data.length, position + into.length));
      position += n;
      return n;
    },
    close: async function () {
      this.closed = true;
    },
  };
}

describe('uploadFromReader', () => {
  it('keeps the window in flight before any answer, in file order, from one reused buffer, and closes only when all are answered', async () => {
    const ch = new RecordingChannel();
    const data = randomBytes(READ_CHUNK * 12 + 4321);
    const up = uploadFromReader(ch as unknown as SFTPWrapper, 'in/x.uploading', memoryReader(data));
    for (let i = 0; i < 40; i++) await tick();
    // Nothing answered yet: a full window is out (the last read's pieces may pass it by less than a read), and no more.
    expect(ch.writes.length).toBeGreaterThanOrEqual(WINDOW);
    expect(ch.writes.length).toBeLessThan(WINDOW + READ_CHUNK / PIECE);
    expect(ch.log).toEqual(['open in/x.uploading']);
    while (ch.writes.some((w) => w.answer)) {
      for (const w of ch.writes.filter((x) => x.answer).reverse()) {
        const a = w.answer;
        (w as { answer?: Answer }).answer = undefined;
        a();
      }
      for (let i = 0; i < 4; i++) await tick();
    }
    await up.done;
    expect(ch.log).toEqual(['open in/x.uploading', 'close with 0 unanswered']);
    let expected = 0;
    for (const w of ch.writes) {
      expect(w.position).toBe(expected);
      expected += w.data.length;
    }
    expect(Buffer.concat(ch.writes.map((w) => w.data)).equals(data)).toBe(true);
    // One buffer for the whole upload: every request was handed a view of the same memory.
    expect(new Set(ch.sources).size).toBe(1);
  });

  it("keeps each piece within the session's WRITE maximum, so that ssh2 never reads the reused buffer later", async () => {
    // Against a server other than OpenSSH, ssh2 takes at most 34,000 bytes less 2 KiB in one WRITE: 32 KiB pieces
    // would be split and their rest sent later from the buffer, by then read into again (the in-process server's case).
    const ch = new RecordingChannel();
    ch.auto = true;
    ch._maxWriteLen = 34_000 - 2048;
    expect(reuseSafePiece(ch as unknown as SFTPWrapper)).toBe(34_000 - 2048);
    const data = randomBytes(READ_CHUNK * 5 + 777);
    await uploadFromReader(ch as unknown as SFTPWrapper, 'in/v.uploading', memoryReader(data)).done;
    expect(ch.writes.every((w) => w.data.length <= 34_000 - 2048)).toBe(true);
    expect(Buffer.concat([...ch.writes].sort((a, b) => a.position - b.position).map((w) => w.data)).equals(data)).toBe(true);
    // A session that does not say its maximum cannot be written from a reused buffer: the transport pipes a stream.
    const unknown = new RecordingChannel() as unknown as { _maxWriteLen?: number };
    delete unknown._maxWriteLen;
    expect(reuseSafePiece(unknown as unknown as SFTPWrapper)).toBeUndefined();
    expect(() => uploadFromReader(unknown as unknown as SFTPWrapper, 'in/u', memoryReader(data))).toThrow(/does not say/);
  });

  it('the first failed request fails the upload; nothing is read or sent after it is known, and the handle is closed', async () => {
    const ch = new RecordingChannel();
    ch.auto = true;
    ch.failAt = 3;
    const data = randomBytes(PIECE * WINDOW * 4);
    await expect(uploadFromReader(ch as unknown as SFTPWrapper, 'in/y.uploading', memoryReader(data)).done).rejects.toMatchObject({ code: 4 });
    expect(ch.writes.length).toBeLessThan(WINDOW + 2 * (READ_CHUNK / PIECE));
    expect(ch.log.at(-1)).toMatch(/^close/);
  });

  it('a throw from beforeChunk stops the upload before that chunk is sent', async () => {
    const ch = new RecordingChannel();
    ch.auto = true;
    const data = randomBytes(READ_CHUNK * 6);
    const asked: number[] = [];
    const up = uploadFromReader(ch as unknown as SFTPWrapper, 'in/z.uploading', memoryReader(data), (sent) => {
      asked.push(sent);
      if (sent > READ_CHUNK * 2) throw Object.assign(new Error('deposed'), { code: 'DEPOSED' });
    });
    await expect(up.done).rejects.toMatchObject({ code: 'DEPOSED' });
    expect(asked).toEqual([READ_CHUNK, READ_CHUNK * 2, READ_CHUNK * 3]);
    expect(ch.writes.reduce((n, w) => n + w.data.length, 0)).toBe(READ_CHUNK * 2);
    expect(ch.log.at(-1)).toMatch(/^close/);
  });

  it('destroy stops an upload waiting on the server with that error; nothing more is sent', async () => {
    const ch = new RecordingChannel(); // never answers
    const up = uploadFromReader(ch as unknown as SFTPWrapper, 'in/w.uploading', memoryReader(randomBytes(READ_CHUNK * 20)));
    for (let i = 0; i < 40; i++) await tick();
    const sent = ch.writes.length;
    up.destroy(Object.assign(new Error('session lost'), { code: 'CONNECTION_LOST' }));
    await expect(up.done).rejects.toMatchObject({ code: 'CONNECTION_LOST' });
    for (let i = 0; i < 10; i++) await tick();
    expect(ch.writes.length).toBe(sent);
    expect(ch.log.at(-1)).toMatch(/^close/);
  });
});
