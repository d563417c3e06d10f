/**
 * A transport session that survives transient faults: each operation runs
 * with bounded retries (exponential backoff with jitter, p-retry); on a
 * transient failure the connection is dropped and opened again before the
 * next attempt. Permanent failures (authentication, host key, permission,
 * not found, target exists) are never retried.
 *
 * One operation at a time: a session owns one connection, and a second
 * caller waits its turn (basic-ftp aborts a running task when another
 * starts; two connects at once would orphan a client). Reset and close take
 * their turn too, so they never drop a connection another call is using.
 *
 * `stop()` (SIGTERM) lets the operation in flight end, bounded by its own
 * timeout, and starts nothing more: no further attempt, no queued operation.
 * They fail with the transient `STOPPED`, so their state resumes at the next
 * start.
 */
import pRetry from 'p-retry';
import type { ResolvedConfig } from '../config/config.js';
import type { Logger } from './logger.js';
import { isTransient, TransportError, type BeforeChunk, type Transport } from './transport.js';

export interface SessionOptions {
  readonly retries: ResolvedConfig['retries'];
  readonly logger: Logger;
  /**
   * Checked before every request to the server (each method of the
   * transport, connect included): throws `DEPOSED` when this node may no
   * longer act for the account (issue #20). Never retried.
   */
  readonly mayAct?: () => boolean;
}

const DEPOSED = "this node no longer holds the account's lease: the request was not sent; the leader resumes the work";

/**
 * A transport whose every request first asks `mayAct` (close, which sends
 * nothing that changes the account, excepted). An upload asks again before
 * each chunk it writes: a process resumed after a pause runs its pending I/O
 * callbacks before its timers, and the next chunk must not go out then.
 */
export function guarded(t: Transport, mayAct: () => boolean): Transport {
  const ask = (): void => {
    if (!mayAct()) throw new TransportError('DEPOSED', DEPOSED);
  };
  return new Proxy(t, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function' || prop === 'close') return v;
      return (...args: unknown[]) => {
        ask();
        if (prop === 'upload') {
          const before = args[2] as BeforeChunk | undefined;
          args[2] = ((sent) => {
            ask();
            before?.(sent);
          }) satisfies BeforeChunk;
        }
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

export class Session {
  private connected = false;
  /** The end of the queue: each operation starts when the previous one has settled. */
  private tail: Promise<unknown> = Promise.resolve();
  private readonly stopper = new AbortController();

  private readonly make: () => Transport;
  private current: Transport;

  constructor(
    make: () => Transport,
    private readonly opts: SessionOptions,
  ) {
    const mayAct = opts.mayAct;
    this.make = mayAct ? () => guarded(make(), mayAct) : make;
    this.current = this.make();
  }

  get transport(): Transport {
    return this.current;
  }

  /** Runs `fn` alone on the connection, after every operation queued before it. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Connects if needed; inside the queue (run) or on its own turn. */
  async open(): Promise<Transport> {
    return this.exclusive(() => this.connectNow());
  }

  private async connectNow(): Promise<Transport> {
    if (!this.connected) {
      await this.current.connect();
      this.connected = true;
    }
    return this.current;
  }

  /**
   * Runs `op` with retries. `label` names it in logs. `op` must be safe to
   * run again after a transient failure (the handshake checks the server's
   * state before it acts again).
   */
  async run<T>(label: string, op: (t: Transport) => Promise<T>): Promise<T> {
    const r = this.opts.retries;
    const signal = this.stopper.signal;
    return this.exclusive(async () => {
      // p-retry throws the abort reason even after an attempt that succeeded: a result the server gave is kept.
      let result: { value: T } | undefined;
      await pRetry(
        async () => {
          result = { value: await op(await this.connectNow()) };
        },
        {
          signal,
          retries: r.attempts,
          minTimeout: r.minDelay * 1000,
          maxTimeout: r.maxDelay * 1000,
          factor: 2,
          randomize: true,
          shouldRetry: ({ error }) => isTransient(error) && !(error instanceof TransportError && error.code === 'DEPOSED'),
          onFailedAttempt: async ({ error, attemptNumber, retriesLeft, retriesConsumed }) => {
            if (!isTransient(error)) return;
            // One line per retry: which attempt, and when the next one comes (p-retry draws it in [base, 2 x base], capped).
            const base = Math.min(r.minDelay * 2 ** retriesConsumed, r.maxDelay);
            const next = signal.aborted
              ? 'stopping: no further attempt'
              : retriesLeft > 0
                ? `next attempt in ${delayRange(base, Math.min(2 * base, r.maxDelay))}`
                : 'no attempt left';
            this.opts.logger.warn(
              { op: label, attempt: attemptNumber, of: r.attempts + 1, retriesLeft, err: error.message },
              `${label}: ${error.message} (attempt ${attemptNumber} of ${r.attempts + 1}); ${next}`,
            );
            await this.resetNow();
          },
        },
      ).catch((e: unknown) => {
        if (!result) throw e;
      });
      return result!.value;
    });
  }

  /** Ends the operation in flight now (its connection closed under it): a node whose lease ran out sends nothing more. */
  abortNow(): void {
    const old = this.current;
    this.connected = false;
    this.current = this.make();
    void old.close().catch(() => undefined);
  }

  /** Starts nothing more: the operation in flight ends (bounded by its timeout); every later one fails with `STOPPED`. */
  stop(): void {
    this.stopper.abort(new TransportError('STOPPED', 'stopping: the operation was not started; it resumes at the next start'));
  }

  /** Drops the connection; the next operation opens a new one (a client cannot be reused after end()). */
  async reset(): Promise<void> {
    return this.exclusive(() => this.resetNow());
  }

  private async resetNow(): Promise<void> {
    const old = this.current;
    this.connected = false;
    this.current = this.make();
    await old.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    return this.exclusive(async () => {
      this.connected = false;
      await this.current.close().catch(() => undefined);
    });
  }
}

/** `250-500 ms`, `2-4 s`, `30-60 s`. */
function delayRange(from: number, to: number): string {
  if (to < 1) return `${Math.round(from * 1000)}-${Math.round(to * 1000)} ms`;
  const f = (x: number): string => (Number.isInteger(x) ? String(x) : x.toFixed(1));
  return `${f(from)}-${f(to)} s`;
}
