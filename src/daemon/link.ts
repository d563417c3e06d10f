/**
 * The daemon's one connection to the account: a Session (one operation at a
 * time, retries) and the remote root, opened on first use and dropped after
 * a failed pass. Only the worker uses it: report collection is a step of
 * the worker's loop, never a timer racing an upload.
 */
import type { ResolvedConfig } from '../config/config.js';
import { createTransport } from '../transport/connect.js';
import { resolveRemoteRoot } from '../transport/handshake.js';
import type { Logger } from '../transport/logger.js';
import { Session } from '../transport/session.js';
import { TransportError } from '../transport/transport.js';

export class Link {
  private session: Session | undefined;
  private root: string | undefined;
  private stopped = false;

  constructor(
    private readonly config: ResolvedConfig,
    private readonly logger: Logger,
    /** Told when the account answered (its root found again after a connection). */
    private readonly onReached?: () => void,
    /** Whether this node may act for the account now (its lease): asked before every request (issue #20). */
    private readonly mayAct?: () => boolean,
  ) {}

  async open(): Promise<{ session: Session; root: string }> {
    if (!this.config.hasTransport) throw new TransportError('PROTOCOL', 'the configuration has no transport section: the daemon cannot send');
    if (!this.session) {
      this.session = new Session(() => createTransport(this.config, this.logger), {
        retries: this.config.retries,
        logger: this.logger,
        ...(this.mayAct ? { mayAct: this.mayAct } : {}),
      });
      if (this.stopped) this.session.stop();
    }
    if (this.root === undefined) {
      this.root = await resolveRemoteRoot(this.session, this.config.service.serviceId, this.config.transport.remoteRoot);
      this.onReached?.();
    }
    return { session: this.session, root: this.root };
  }

  /** After a failed pass: the next use connects again and finds the root again. */
  async reset(): Promise<void> {
    this.root = undefined;
    await this.session?.reset();
  }

  /** The lease ran out: the operation in flight ends now, its connection closed under it; the next one needs the lease again. */
  abortNow(): void {
    this.root = undefined;
    this.session?.abortNow();
  }

  /** SIGTERM: the operation in flight ends, nothing more is started (no retry, no next step). */
  stop(): void {
    this.stopped = true;
    this.session?.stop();
  }

  async close(): Promise<void> {
    await this.session?.close();
  }
}
