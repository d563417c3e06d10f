/**
 * Leadership of a DMC account among the nodes that share a store (issue
 * #20). Each account (its service id) has one lease row: holder, epoch,
 * expiry. A node takes a free or expired lease by raising the epoch, the
 * fencing token; it renews it every third of its time to live. The expiry
 * is written with the store's clock (one clock for every node); a node
 * judges its own lease on its monotonic clock, from the moment it *sent* the
 * request that took or renewed it, minus a margin: the store's expiry is
 * always later than what the node believes, so a node that believes it leads
 * does. Before every remote operation it checks `mayAct()`; after a pause
 * (SIGSTOP, a stalled VM) the check fails at once, before any request, since
 * the clock moved on while the timers did not run.
 *
 * Fencing: every change a leader commits for its account is conditioned, in
 * the same statement, on its holder name and epoch and on the lease not
 * having expired (`fence`), so a deposed node commits nothing even when it
 * has not noticed yet.
 */
import { EventEmitter } from 'node:events';

export interface Lease {
  readonly account: string;
  readonly holder: string;
  readonly epoch: number;
  /** When the holder took it (this epoch's start), to the millisecond. */
  readonly since: Date;
  readonly expiresAt: Date;
  /** As read (LeaseStore.read): how long it has been free or expired, on the store's clock; 0 while live. */
  readonly freeForMs?: number;
}

/**
 * Whether this node takes a free lease now (balancing accounts among nodes,
 * issue #21): given the lease as read (none yet: never taken), it runs
 * `take` when it wants the account and resolves with its result, else with
 * undefined. One gate serves every account of a process, so it can count
 * what the process leads before it takes one more.
 */
export type LeaseGate = <T>(seen: Lease | undefined, take: () => Promise<T>) => Promise<T | undefined>;

/** What a store keeps for leases (PostgreSQL: pg-lease.ts). */
export interface LeaseStore {
  /**
   * Takes the lease when it is free or expired (epoch + 1), or renews it when `node` holds it at `epoch`. Resolves
   * with the lease as it is after the statement, held by `node` or not.
   */
  acquire(account: string, node: string, epoch: number | undefined, ttlMs: number): Promise<Lease>;
  /** Ends the lease at once when `node` holds it at `epoch` (a drain): the next node need not wait for the expiry. */
  release(account: string, node: string, epoch: number): Promise<void>;
  read(account: string): Promise<Lease | undefined>;
}

export interface LeaseOptions {
  readonly account: string;
  /** This node's name: unique among the nodes (hostname by default, or DMC_NODE_NAME). */
  readonly node: string;
  /** The lease's time to live. */
  readonly ttlMs: number;
  /** Taken off the node's own reckoning of its lease (clock drift, the time a request takes to reach the store). */
  readonly marginMs: number;
  /** A monotonic clock in milliseconds (tests may give their own). */
  readonly now?: () => number;
  /** Asked before taking a free lease (a lease this node holds is renewed without asking). Default: always take. */
  readonly gate?: LeaseGate;
}

/** Defaults: a standby takes over within ttl + ttl/3 of the leader's death (8 s), the target of issue #20 being 10 s. */
export const LEASE_DEFAULTS = { ttlMs: 6_000, marginMs: 1_000 } as const;

export type Role = 'leader' | 'standby';

/**
 * Keeps (or waits for) one account's lease: renews every ttl/3, emits
 * `role` when this node becomes leader or standby, and `renewFailed` with
 * the error when the store could not be reached.
 */
export class LeaseKeeper extends EventEmitter<{ role: [Role, Lease | undefined]; renewFailed: [Error] }> {
  private lease: Lease | undefined;
  /** On the monotonic clock: until when this node may act as leader. */
  private validUntil = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private retired = false;
  private running: Promise<void> = Promise.resolve();
  private readonly now: () => number;
  /** The role last emitted: each change is said once, whichever of a renewal, the expiry or stop() sees it first. */
  private said: Role = 'standby';
  renewFailures = 0;
  /** Failed attempts at taking or renewing the lease since start (the metric). */
  renewFailuresTotal = 0;

  constructor(
    private readonly store: LeaseStore,
    private readonly o: LeaseOptions,
  ) {
    super();
    if (!(o.marginMs >= 0 && o.marginMs < o.ttlMs / 3))
      throw new RangeError(`lease margin ${o.marginMs} ms must be at least 0 and under a third of the lease's ${o.ttlMs} ms`);
    this.now = o.now ?? (() => performance.now());
  }

  get role(): Role {
    return this.mayAct() ? 'leader' : 'standby';
  }

  /** The account's lease as this node last read it (its own or another's), whether or not it is still live. */
  get known(): Lease | undefined {
    return this.lease;
  }

  /** The lease this node holds, while it may act on it. */
  get held(): Lease | undefined {
    return this.mayAct() ? this.lease : undefined;
  }

  /** Whether this node may start a remote operation or commit for the account now: checked before each one. */
  mayAct(): boolean {
    return this.lease !== undefined && this.lease.holder === this.o.node && this.now() < this.validUntil;
  }

  /** How long this node may still act (0 when it may not): an operation in flight is aborted at this bound. */
  remainingMs(): number {
    return this.mayAct() ? this.validUntil - this.now() : 0;
  }

  /** Starts taking or renewing the lease: a first attempt at once, then every ttl/3. */
  start(): Promise<void> {
    this.stopped = false;
    return this.tick();
  }

  /**
   * From now on takes no lease: renews the one it holds (until stop()), and
   * never takes one that is free or expired. A node on its way out calls it
   * first, so that it does not become leader while it stops.
   */
  retire(): void {
    this.retired = true;
  }

  /**
   * Hands the lease over now and stays a standby (balancing: this node leads
   * more than its share). The caller has let the operation in flight end. The
   * gate decides when this node takes a lease again.
   */
  async handOver(): Promise<void> {
    await this.running;
    const l = this.lease;
    if (!l || l.holder !== this.o.node || !this.mayAct()) return;
    this.validUntil = -Infinity;
    // Forgotten before the release: the next attempt asks the gate, and never renews the epoch it gave up.
    this.lease = undefined;
    this.sayRole();
    await this.store.release(this.o.account, this.o.node, l.epoch).catch((e: Error) => this.emit('renewFailed', e));
  }

  /** Tries now instead of at the next third of the lease (another node said it handed a lease over, issue #21). */
  poke(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    void this.tick();
  }

  /** Stops renewing; with `release`, hands the lease over at once (a drain). */
  async stop(release = true): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    const l = this.lease;
    const wasLeader = this.mayAct();
    this.validUntil = -Infinity;
    if (release && l && l.holder === this.o.node && wasLeader) await this.store.release(this.o.account, this.o.node, l.epoch).catch(() => undefined);
    this.sayRole();
  }

  private sayRole(): void {
    const r = this.role;
    if (r === this.said) return;
    this.said = r;
    this.emit('role', r, r === 'leader' ? this.lease : undefined);
  }

  private tick(): Promise<void> {
    this.running = this.running.then(() => this.attempt());
    return this.running;
  }

  private async attempt(): Promise<void> {
    if (this.stopped) return;
    // Renewed: an epoch this node took or renewed; a lease it only read (the gate declined it) is never renewed.
    const mine = this.lease?.holder === this.o.node && this.lease.freeForMs === undefined ? this.lease.epoch : undefined;
    // Retired: only a lease it still holds is renewed (taking one means no epoch given).
    if (this.retired && (mine === undefined || !this.mayAct())) return this.sayRole();
    let sentAt = this.now();
    try {
      let l: Lease | undefined;
      if (mine === undefined && this.o.gate) {
        // Not held: read it; a free one (or one under this node's name, left by a process of it that is gone) is taken
        // only when the gate says so.
        const seen = await this.store.read(this.o.account);
        const free = !seen || seen.freeForMs! > 0 || seen.holder === this.o.node;
        l = free
          ? await this.o.gate(seen, () => {
              sentAt = this.now();
              return this.store.acquire(this.o.account, this.o.node, undefined, this.o.ttlMs);
            })
          : seen;
        l ??= seen;
      } else l = await this.store.acquire(this.o.account, this.o.node, mine, this.o.ttlMs);
      this.lease = l;
      // Held: valid from when the request was sent (the store's expiry is later than that by construction). A lease only
      // read (the gate did not take it) gives nothing, even under this node's name.
      this.validUntil = l && l.holder === this.o.node && l.freeForMs === undefined ? sentAt + this.o.ttlMs - this.o.marginMs : -Infinity;
      this.renewFailures = 0;
    } catch (e) {
      // Nothing is known: the lease held so far runs out on its own (validUntil unchanged).
      this.renewFailures++;
      this.renewFailuresTotal++;
      this.emit('renewFailed', e as Error);
    }
    this.sayRole();
    if (!this.stopped) {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.tick(), this.o.ttlMs / 3);
      // A lease that runs out between two renewals is said when it does.
      if (this.role === 'leader') setTimeout(() => this.sayRole(), this.validUntil - this.now() + 1).unref();
    }
  }
}
