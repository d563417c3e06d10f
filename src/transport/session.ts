/**
 * A transport session that survives transient faults: each operation runs
 * with bounded retries (exponential backoff with jitter, p-retry); on a
 * transient failure the connection is dropped and opened again before the
 * next attempt. Permanent failures (authentication, host key, permission,
 * not found, target exists) are never retried.
 */
import pRetry from 'p-retry';
import type { ResolvedConfig } from '../config/config.js';
import type { Logger } from './logger.js';
import { isTransient, type Transport } from './transport.js';

export interface SessionOptions {
  readonly retries: ResolvedConfig['retries'];
  readonly logger: Logger;
}

export class Session {
  private connected = false;

  constructor(private readonly make: () => Transport, private readonly opts: SessionOptions, private current: Transport = make()) {}

  get transport(): Transport { return this.current; }

  async open(): Promise<Transport> {
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
    return pRetry(async () => op(await this.open()), {
      retries: r.attempts,
      minTimeout: r.minDelay * 1000,
      maxTimeout: r.maxDelay * 1000,
      factor: 2,
      randomize: true,
      shouldRetry: ({ error }) => isTransient(error),
      onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
        if (!isTransient(error)) return;
        this.opts.logger.warn({ op: label, attempt: attemptNumber, retriesLeft, err: error.message }, 'transient transport failure; reconnecting');
        await this.reset();
      },
    });
  }

  /** Drops the connection; the next operation opens a new one (a client cannot be reused after end()). */
  async reset(): Promise<void> {
    const old = this.current;
    this.connected = false;
    this.current = this.make();
    await old.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.connected = false;
    await this.current.close().catch(() => undefined);
  }
}
