import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { writeAll } from '../../src/transport/ftp-stor.js';
import type { ChunkReader } from '../../src/transport/transport.js';

// The byte at each offset of the source: any chunk written from a buffer read into too early shows as a wrong byte.
const byteAt = (o: number): number => (o * 7 + Math.floor(o / 65_536)) & 0xff;

describe('the FTP upload loop (writeAll)', () => {
  let server: Server | undefined;
  afterEach(() => server?.close());

  it('never reads into a buffer whose write the socket has not called back, even when the receiver stalls', async () => {
    const size = 24 * 1024 * 1024 + 777;
    const received: Buffer[] = [];
    let peer: Socket | undefined;
    let resume: (() => void) | undefined;
    const done = new Promise<void>((resolve) => {
      server = createServer((s) => {
        peer = s;
        s.pause(); // the receiver stalls until the sender is held back
        s.on('data', (c: Buffer) => received.push(c));
        s.on('end', resolve);
        resume = () => s.resume();
      });
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const socket = connect((server!.address() as { port: number }).port, '127.0.0.1');
    await new Promise<void>((r) => socket.once('connect', r));

    // Each buffer handed to the socket stays pending until its write calls back.
    const pending = new Set<ArrayBufferLike>();
    const write = socket.write.bind(socket) as (chunk: Buffer, cb: (err?: Error | null) => void) => boolean;
    (socket as unknown as { write: typeof write }).write = (chunk, cb) => {
      pending.add(chunk.buffer);
      return write(chunk, (err) => {
        pending.delete(chunk.buffer);
        cb(err);
      });
    };

    let position = 0;
    let heldBack = false;
    let overwrote = 0;
    const reader: ChunkReader = {
      read: async (into) => {
        if (pending.has(into.buffer)) overwrote++;
        if (pending.size > 0 && socket.writableLength > 0 && !heldBack) {
          heldBack = true; // a write waits on the stalled receiver while the next chunk is read
          setImmediate(() => resume?.());
        }
        const n = Math.min(into.length, size - position);
        for (let i = 0; i < n; i++) into[i] = byteAt(position + i);
        position += n;
        return n;
      },
      close: async () => undefined,
    };
    const sent: number[] = [];
    await writeAll(socket, reader, size, (n) => sent.push(n));
    await done;
    peer?.destroy();

    expect(heldBack).toBe(true);
    expect(overwrote).toBe(0);
    expect(sent.at(-1)).toBe(size);
    const all = Buffer.concat(received);
    expect(all.length).toBe(size);
    let wrong = -1;
    for (let o = 0; o < size && wrong < 0; o++) if (all[o] !== byteAt(o)) wrong = o;
    expect(wrong).toBe(-1);
  });

  it('a throw from beforeChunk ends the loop with that error before the chunk is written', async () => {
    server = createServer((s) => s.resume());
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const socket = connect((server!.address() as { port: number }).port, '127.0.0.1');
    await new Promise<void>((r) => socket.once('connect', r));
    let writes = 0;
    const write = socket.write.bind(socket) as (chunk: Buffer, cb: (err?: Error | null) => void) => boolean;
    (socket as unknown as { write: typeof write }).write = (chunk, cb) => {
      writes++;
      return write(chunk, cb);
    };
    const reader: ChunkReader = { read: async (into) => into.length, close: async () => undefined };
    const stop = new Error('stop');
    await expect(
      writeAll(socket, reader, 10 * 1024 * 1024, (n) => {
        if (n > 2 * 1024 * 1024) throw stop;
      }),
    ).rejects.toBe(stop);
    expect(writes).toBe(2);
    socket.destroy();
  });
});
