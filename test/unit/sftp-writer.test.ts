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
import { PIECE, PipelinedSftpWriter, WINDOW } from '../../src/transport/sftp-writer.js';

type Answer = (err?: Error) => void;
class RecordingChannel {
  readonly writes: { position: number; data: Buffer; answer: Answer }[] = [];
  readonly log: string[] = [];
  maxInFlight = 0;
  inFlight = 0;
  /** Answer every request as soon as it is sent (after a turn of the event loop). */
  auto = false;
  failAt: number | undefined;
  open(path: string, _flags: string, cb: (err: Error | undefined, h: Buffer) => void): void {
    this.log.push(`open ${path}`);
    setImmediate(() => cb(undefined, Buffer.from('h1')));
  }
  write(_h: Buffer, buf: Buffer, off: number, len: number, position: number, cb: (err?: Error) => void): void {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const index = this.writes.length;
    const answer: Answer = (err) => {
      this.inFlight--;
      cb(err);
    };
    this.writes.push({ position, data: Buffer.from(buf.subarray(off, off + len)), answer });
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
