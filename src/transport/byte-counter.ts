/**
 * Counts bytes as they pass, inside a pipeline. Never count with a 'data'
 * listener on a source handed to a transport: that starts the flow before
 * the transport pipes it (basic-ftp pipes only when 150 arrives), and the
 * first chunks are lost.
 */
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** A pass-through that calls `onChunk` with the bytes seen so far, each chunk included; a throw fails the stream. */
export function byteCounter(onChunk: (total: number) => void): Transform {
  let total = 0;
  // As large a buffer as the reads (fileSource: 256 KiB): the counter never makes the upload wait on its own queue.
  return new Transform({
    highWaterMark: 1024 * 1024,
    transform(chunk: Buffer, _enc, cb) {
      total += chunk.length;
      try {
        onChunk(total);
      } catch (e) {
        cb(e as Error);
        return;
      }
      cb(null, chunk);
    },
  });
}

/**
 * `source` seen through a byte counter. Wired with pipeline, so an error on
 * either side destroys the other: the consumer of the returned stream sees
 * the source's failure, and the source is closed when the consumer fails.
 */
export function counted(source: NodeJS.ReadableStream, onChunk: (total: number) => void): Transform {
  const counter = byteCounter(onChunk);
  pipeline(source, counter).catch(() => undefined); // the error reaches the consumer through `counter`
  return counter;
}
