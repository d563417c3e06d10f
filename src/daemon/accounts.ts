/**
 * Several DMC accounts in one process (issue #21): one `Daemon` per account,
 * each with its own journal, connection and platform rate (5 triggers/s,
 * guide §1.1.9), so a slow or unreachable account never holds up another;
 * and one push receiver for them all, routing each report by its
 * `username` (the service id, guide line 6750).
 *
 * An account whose section is wrong, or that cannot start (its journal held
 * by another process), is said and left out; the others run.
 */
import type { AccountSet } from '../config/config.js';
import type { PushReceiver, PushTarget } from '../http/push-receiver.js';
import type { SharedOpsServer } from '../http/ops-server.js';
import type { Session } from '../http/console/console.js';
import type { Logger } from '../transport/logger.js';
import { Daemon, type DaemonOptions } from './daemon.js';
import type { Fleet } from './fleet.js';
import type { DaemonEvents } from './context.js';

type DaemonEvent = Parameters<NonNullable<DaemonEvents['onEvent']>>[0];

export interface AccountDaemonsOptions {
  /** Lead only these service ids (`daemon --account`); default: every account. */
  readonly only?: readonly string[];
  /** Lead only the accounts with one of these labels (`daemon --label`); with `only`, an account named in either. */
  readonly labels?: readonly string[];
  /** Each daemon's events, with the account they concern. */
  readonly onEvent?: (account: string, e: DaemonEvent) => void;
  /** Passed to each daemon (the clock, the journal's test options). */
  readonly daemon?: Omit<DaemonOptions, 'sharedPush' | 'onEvent'>;
}

/** An account left out, and why. */
export interface SkippedAccount {
  readonly account: string;
  readonly reason: string;
}

export class AccountDaemons {
  /** The daemons running, one per account, in the configuration's order. */
  readonly daemons: Daemon[] = [];
  readonly skipped: SkippedAccount[] = [];
  private receiver: PushReceiver | undefined;

  constructor(
    private readonly set: AccountSet,
    private readonly logger: Logger,
    private readonly opts: AccountDaemonsOptions = {},
  ) {}

  private halted = false;

  /**
   * A stop asked while start() runs (SIGTERM during the start): no further
   * account starts, nor the push receiver or the HTTP server; start()
   * returns, and stop() stops what did start.
   */
  halt(): void {
    this.halted = true;
  }

  /** Starts every account it can; throws only when none starts (unless halted). */
  async start(): Promise<void> {
    const { set, opts } = this;
    let only = opts.only?.length ? new Set(opts.only) : undefined;
    if (opts.labels?.length) {
      const wanted = new Set(opts.labels);
      const labelled = set.accounts.filter((e) => e.labels.some((l) => wanted.has(l)));
      if (labelled.length === 0)
        throw new AccountsError(
          `${set.file}: --label ${opts.labels.join(', ')}: no account has it; the labels are ${[...new Set(set.accounts.flatMap((e) => e.labels))].join(', ') || 'none'}`,
        );
      only = new Set([...(only ?? []), ...labelled.map((e) => e.serviceId ?? `accounts[${e.index}]`)]);
    }
    if (opts.only?.length) {
      const known = new Set(set.accounts.map((e) => e.serviceId));
      const unknown = opts.only.filter((a) => !known.has(a));
      if (unknown.length)
        throw new AccountsError(
          `${set.file}: --account ${unknown.join(', ')}: no such account; the accounts are ${set.accounts.map((e) => e.serviceId ?? `accounts[${e.index}]`).join(', ')}`,
        );
    }
    // On PostgreSQL the nodes started with this file share its accounts: each leads its share (fleet.ts).
    this.fleet = await this.startFleet(only);
    for (const entry of set.accounts) {
      if (this.halted) break;
      const account = entry.serviceId ?? `accounts[${entry.index}]`;
      if (only && !only.has(account)) continue;
      const skip = (reason: string): void => {
        this.skipped.push({ account, reason });
        this.logger.error({ account }, `account ${account} not started: ${reason}`);
        opts.onEvent?.(account, { type: 'retry', detail: `account not started: ${reason}` });
      };
      if (entry.error) {
        skip(entry.error.message);
        continue;
      }
      const config = entry.config!;
      if (!config.daemon) {
        skip(`${set.file}: no daemon section for this account (docs/config.md)`);
        continue;
      }
      const daemon = new Daemon(config, this.logger.child({ account }), {
        ...opts.daemon,
        sharedPush: true,
        ...(this.fleet ? { leaseGate: this.fleet.gate } : {}),
        ...(opts.onEvent ? { onEvent: (e: DaemonEvent) => opts.onEvent!(account, e) } : {}),
      });
      try {
        await daemon.start();
      } catch (e) {
        // What start() opened is closed again: the account is out, the process stays up for the others.
        await daemon.stop().catch(() => undefined);
        skip((e as Error).message);
        continue;
      }
      this.daemons.push(daemon);
    }
    if (this.halted) return;
    if (this.daemons.length === 0) {
      await this.fleet?.stop();
      throw new AccountsError(`no account started: ${this.skipped.map((s) => `${s.account}: ${s.reason}`).join('; ') || 'none selected'}`);
    }
    // The push section is stated once at the top of the file: every account's copy is the same.
    const push = this.daemons.find((d) => d.pushConfig)?.pushConfig;
    if (push) {
      const { startPushReceiver } = await import('../http/push-receiver.js');
      const accounts = new Map<string, PushTarget>(this.daemons.map((d) => [d.account, d.pushTarget()]));
      try {
        // Configured here but not running (left out, or another node's by pinning): 503, posted again later.
        const unavailable = new Set(set.accounts.map((e) => e.serviceId).filter((id): id is string => id !== undefined && !accounts.has(id)));
        this.receiver = await startPushReceiver({ config: push, logger: this.logger, accounts, unavailable });
      } catch (e) {
        await this.fleet?.stop();
        await this.stopDaemons();
        throw e;
      }
    }
    try {
      await this.startOps();
    } catch (e) {
      await this.receiver?.close();
      await this.fleet?.stop();
      await this.stopDaemons();
      throw e;
    }
  }

  private ops: SharedOpsServer | undefined;

  /**
   * The top's `daemon.http`: one server for the accounts without their own:
   * `/metrics` with every account's series, `/readyz` with each one's
   * reasons, and the console: `/` every account at once, `/a/<serviceId>/`
   * each account's pages, one login for all.
   */
  private async startOps(): Promise<void> {
    const http = this.set.http;
    const served = this.daemons.filter((d) => !d.ownHttp);
    if (!http || served.length === 0) return;
    const { startSharedOpsServer } = await import('../http/ops-server.js');
    const consoleParts = http.console
      ? {
          console: await import('../http/console/console.js'),
          token: await (await import('../http/console/token.js')).consoleToken(http.tokenFile, this.logger),
        }
      : undefined;
    const sessions = new Map<string, Session>();
    const all = served.map((d) => ({ id: d.account, href: `/a/${encodeURIComponent(d.account)}/` }));
    this.ops = await startSharedOpsServer({
      host: http.host,
      port: http.port,
      logger: this.logger,
      accounts: served.map((d) => ({ account: d.account, source: d.opsSource(http.readyPassSeconds, () => this.receiver?.accountCounters.get(d.account)) })),
      push: () => this.receiver?.counters,
      ...(consoleParts
        ? {
            register: (app, ops) => {
              for (const d of served)
                void app.register(
                  async (sub) =>
                    consoleParts.console.registerConsole(sub, {
                      ...d.consoleView(),
                      logger: this.logger.child({ account: d.account }),
                      token: consoleParts.token,
                      tokenFile: http.tokenFile,
                      ...(http.authHeader ? { authHeader: http.authHeader } : {}),
                      account: () => ops.account(d.account),
                      base: `/a/${encodeURIComponent(d.account)}`,
                      home: '/',
                      accounts: { current: d.account, all, overview: '/' },
                      sessions,
                    }),
                  { prefix: `/a/${encodeURIComponent(d.account)}` },
                );
              consoleParts.console.registerAccountsOverview(app, {
                sessions,
                ...(http.authHeader ? { authHeader: http.authHeader } : {}),
                accounts: served.map((d) => {
                  const v = d.consoleView();
                  return {
                    id: d.account,
                    href: `/a/${encodeURIComponent(d.account)}/`,
                    journal: v.journal,
                    account: () => ops.account(d.account),
                    ...(v.lease ? { lease: v.lease } : {}),
                    ...(v.node ? { node: v.node } : {}),
                  };
                }),
              });
            },
          }
        : {}),
    });
    for (const d of served) d.useMetrics(this.ops.metrics.get(d.account)!);
  }

  /** The process's metrics, health and console address (the top's `daemon.http`). */
  get opsOrigin(): string | undefined {
    return this.ops?.origin;
  }

  /** The shared push receiver's address, when the configuration has a push section. */
  get pushOrigin(): string | undefined {
    return this.receiver?.origin;
  }

  /** The shared push receiver's counters (reports for a service not served counted in `otherService`). */
  get pushCounters(): PushReceiver['counters'] | undefined {
    return this.receiver?.counters;
  }

  /**
   * The receiver first (no status answered once a journal is closing); this
   * node leaves the fleet, so the others count one node fewer; then every
   * account at once, each handing its lease over (a drain).
   */
  async stop(): Promise<void> {
    await this.receiver?.close();
    await this.ops?.close();
    await this.fleet?.leave();
    try {
      await this.stopDaemons();
    } finally {
      // The leases are handed over: the other nodes are told, and take them now.
      await this.fleet?.close();
    }
  }

  /** The accounts this node leads now. */
  leading(): string[] {
    return this.daemons.filter((d) => d.leads).map((d) => d.account);
  }

  /** Nodes sharing the accounts and this node's share (PostgreSQL), as last read. */
  get balance(): { nodes: number; share: number } | undefined {
    return this.fleet ? { nodes: this.fleet.nodes, share: this.fleet.share } : undefined;
  }

  private fleet: Fleet | undefined;

  /** The fleet, when every account to run keeps its journal in one PostgreSQL database (with one account: none needed). */
  private async startFleet(only: ReadonlySet<string> | undefined): Promise<Fleet | undefined> {
    const configs = this.set.accounts.filter((e) => e.config?.daemon && (!only || only.has(e.serviceId ?? ''))).map((e) => e.config!);
    const pg = configs.filter((c) => /^postgres(ql)?:\/\//i.test(c.daemon!.journal));
    if (pg.length < 2 || pg.length !== configs.length) return undefined;
    const url = pg[0]!.daemon!.journal;
    if (pg.some((c) => c.daemon!.journal !== url)) {
      this.logger.warn('the accounts keep their journals in different PostgreSQL databases: each node leads every account it can take (no balancing)');
      return undefined;
    }
    const d = pg[0]!.daemon!;
    const { Fleet } = await import('./fleet.js');
    const { defaultNode } = await import('../store/journal.js');
    return Fleet.start({
      url,
      ...(d.store?.password ? { password: d.store.password.reveal() } : {}),
      accounts: this.set.accounts.filter((e) => e.config).map((e) => e.config!.service.serviceId),
      node: d.store?.node ?? defaultNode(),
      ttlMs: (d.store?.leaseSeconds ?? 6) * 1000,
      leading: () => this.leading(),
      handOver: (account) => this.daemons.find((x) => x.account === account)?.handOver() ?? Promise.resolve(),
      poke: () => {
        for (const d of this.daemons) d.pokeLease();
      },
      logger: this.logger,
    });
  }

  private async stopDaemons(): Promise<void> {
    const results = await Promise.allSettled(this.daemons.map((d) => d.stop()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}

/** No account could start, or `--account` names none of them: a configuration matter (exit 2). */
export class AccountsError extends Error {
  override readonly name = 'ConfigError';
}
