/**
 * Whoever opens a stream closes it: a reader that stops early (a refused
 * export, a trigger with a broken head) must not leave its descriptor to the
 * garbage collector.
 */
import type { ReadStream } from 'node:fs';

/** Destroys a read stream and waits until its descriptor is closed. */
export function closeStream(s: ReadStream): Promise<void> {
  if (s.closed) return Promise.resolve();
  return new Promise((res) => {
    s.once('close', () => res());
    s.destroy();
  });
}
