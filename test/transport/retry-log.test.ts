/**
 * A retried fault is one log line per retry (issue #11): the operation, the
 * error, which attempt of how many, and when the next one comes; the last
 * says none is left. Readable on a terminal, one JSON line otherwise.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/transport/logger.js';
import { Session } from '../../src/transport/session.js';
import { TransportError, type Transport } from '../../src/transport/transport.js';

function capture(): { logger: ReturnType<typeof createLogger>; lines: () => { msg: string; attempt: number; of: number }[] } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(c: Buffer, _e, cb) {
      chunks.push(c.toString());
      cb();
    },
  });
  return {
    logger: createLogger({ level: 'warn', destination }),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { msg: string; attempt: number; of: number }),
  };
}

/** A transport whose connect fails `failures` times with a transient error. */
function flaky(failures: number): () => Transport {
  let left = failures;
  return () =>
    ({
      connect: async () => {
        if (left-- > 0) throw new TransportError('CONNECTION_LOST', 'connection reset by peer');
      },
      close: async () => undefined,
    }) as unknown as Transport;
}

describe('retry log lines (issue #11)', () => {
  it('one line per retry, with the attempt and the next delay', async () => {
    const { logger, lines } = capture();
    const session = new Session(flaky(2), { retries: { attempts: 3, minDelay: 0.01, maxDelay: 0.05 }, logger });
    expect(await session.run('list in/', async () => 'ok')).toBe('ok');
    expect(lines().map((l) => l.msg)).toEqual([
      'list in/: connection reset by peer (attempt 1 of 4); next attempt in 10-20 ms',
      'list in/: connection reset by peer (attempt 2 of 4); next attempt in 20-40 ms',
    ]);
    expect(lines().map((l) => [l.attempt, l.of])).toEqual([
      [1, 4],
      [2, 4],
    ]);
  });

  it('the last one says no attempt is left', async () => {
    const { logger, lines } = capture();
    const session = new Session(flaky(10), { retries: { attempts: 1, minDelay: 0.25, maxDelay: 8 }, logger });
    await expect(session.run('put a.csv', async () => 'never')).rejects.toThrow(/connection reset/);
    expect(lines().map((l) => l.msg)).toEqual([
      'put a.csv: connection reset by peer (attempt 1 of 2); next attempt in 250-500 ms',
      'put a.csv: connection reset by peer (attempt 2 of 2); no attempt left',
    ]);
  });
});
