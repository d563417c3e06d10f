/**
 * The daemon: drop folders → journal → build → send (exactly once) →
 * outcome → sent/ or failed/, and the reports. One worker runs the loop;
 * each step is a module (intake, build-step, grouping, send, outcome,
 * report-step, settle) over a shared context, and every state change
 * follows the tables of states.ts, committed before it is acted on.
 *
 * Errors are per row: a step that fails for one input (a missing command
 * file, an unreadable export) counts an attempt on that input and, after
 * `maxAttempts`, sends it to failed/ with its error file; other inputs go
 * on. A transport fault (the account unreachable) fails the pass, which is
 * retried with exponential backoff.
 *
 * With a `push` section the daemon also runs the CRA push receiver on its
 * own journal; statuses and reports make the inputs' results files due,
 * written by the results step once the export is in sent/.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { DropFolderConfig, ResolvedConfig } from '../config/config.js';
import type { Logger } from '../transport/logger.js';
import { TransportError } from '../transport/transport.js';
import { buildInput } from './build-step.js';
import { dirs, printable, type DaemonEvents, type DaemonMetrics, type StepContext } from './context.js';
import { buildGroup, followLeader, isMember } from './grouping.js';
import { Hooks } from './hooks.js';
import { moveToWork, refuseSidecar, take } from './intake.js';
import { defaultNode, Journal, journalWhere, storeOptions, type InputRow, type InputState, type JournalOptions } from '../store/journal.js';
import { Link } from './link.js';
import { concludeSent, followOutcomes } from './outcome.js';
import { collectReports, ReportSchedule } from './report-step.js';
import { sendInput } from './send.js';
import { failInput, settleFiles, sweepTemporaries } from './settle.js';
import { DropWatcher } from './watcher.js';
import { writeDueResults } from './results-step.js';
import { StatusStore } from '../store/statuses.js';
import { LEASE_DEFAULTS, LeaseKeeper, type LeaseGate } from '../store/lease.js';
import { DeposedError, StoreUnavailableError } from '../store/sql.js';
import type { PushCounters, PushReceiver, PushTarget } from '../http/push-receiver.js';
import type { OpsServer, ReadinessSource, RoleView } from '../http/ops-server.js';
import type { ConsoleOptions } from '../http/console/console.js';

export type { DaemonEvents } from './context.js';

/** A dropped document no trigger named within this time fails. */
const DOCUMENT_WAIT_MS = 3_600_000;

export interface DaemonOptions extends DaemonEvents {
  /** The clock (tests move it). */
  readonly now?: () => Date;
  /** Passed to the journal (the kill-at-transition tests). */
  readonly journal?: JournalOptions;
  /**
   * The push receiver runs beside several accounts' daemons in one process
   * (issue #21): this daemon starts none and gives its `pushTarget()` to it.
   */
  readonly sharedPush?: boolean;
  /** PostgreSQL: asked before this node takes the account's free lease (the nodes' balancing, issue #21). */
  readonly leaseGate?: LeaseGate;
}

/** A stop still waiting on one of its phases after this long says which (and again as long as it waits). */
const STOP_SAY_MS = 5_000;

export class Daemon {
  /** The journal, open from start() on. */
  journal!: Journal;
  private readonly watchers: DropWatcher[] = [];
  private hooks!: Hooks;
  private readonly link: Link;
  private ctx!: StepContext;
  private readonly schedule: ReportSchedule;
  private wakeUp: (() => void) | undefined;
  private passCount = 0;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private lastOutcomeLook = 0;
  private receiver: PushReceiver | undefined;
  /** PostgreSQL: the account's lease (undefined on SQLite, where this daemon alone uses its journal). */
  private lease: LeaseKeeper | undefined;
  /** The push receiver's own journal on PostgreSQL: statuses are recorded by every node, leader or not. */
  private receiverJournal: Journal | undefined;
  private ops: OpsServer | undefined;
  private lastPassAt: number | undefined;
  /** Where the steps' metrics go once the ops server runs (no-ops before and without it). */
  private readonly metrics: DaemonMetrics = {
    uploaded: (bytes, seconds) => (this.ops?.metrics ?? this.sharedMetrics)?.uploaded(bytes, seconds),
    pass: (seconds, ok) => (this.ops?.metrics ?? this.sharedMetrics)?.pass(seconds, ok),
    reportCollected: () => (this.ops?.metrics ?? this.sharedMetrics)?.reportCollected(),
    account: (reachable, error) => (this.ops?.metrics ?? this.sharedMetrics)?.account(reachable, error),
  };

  constructor(
    private readonly config: ResolvedConfig,
    private readonly logger: Logger,
    private readonly events: DaemonOptions = {},
  ) {
    if (!config.daemon) throw new Error('no daemon section in the configuration');
    this.link = new Link(
      config,
      logger,
      () => this.metrics.account(true),
      () => this.leading(),
    );
    this.schedule = new ReportSchedule(config.daemon.reportsAt, config.daemon.reportsEvery);
  }

  /** Opens the journal (SQLite file or PostgreSQL) and builds what the steps share (start() does; a bench drives passes by hand after it). */
  async open(): Promise<void> {
    const { config, logger, events, d } = this;
    this.journal = await Journal.open(d.journal, 'daemon', { ...events.journal, ...storeOptions(d) });
    const leases = this.journal.leases();
    if (leases) {
      const node = this.node;
      const lease = new LeaseKeeper(leases, {
        account: config.service.serviceId,
        node,
        ttlMs: (d.store?.leaseSeconds ?? LEASE_DEFAULTS.ttlMs / 1000) * 1000,
        marginMs: (d.store?.leaseMarginSeconds ?? LEASE_DEFAULTS.marginMs / 1000) * 1000,
        ...(events.leaseGate ? { gate: events.leaseGate } : {}),
      });
      this.lease = lease;
      this.journal.writeUnder(node, () => {
        const held = lease.held;
        return held ? { account: held.account, holder: held.holder, epoch: held.epoch } : undefined;
      });
      lease.on('role', (role, l) => this.roleChanged(role, l));
      lease.on('renewFailed', (e) => this.logger.warn({ err: e.message, failures: lease.renewFailures }, "cannot renew the account's lease"));
    } else this.journal.writeUnder(this.node);
    this.hooks = new Hooks(d.hooks, this.journal, logger, config.service.serviceId, () => this.leading());
    this.ctx = {
      config,
      d,
      journal: this.journal,
      logger,
      hooks: this.hooks,
      link: this.link,
      statuses: new StatusStore(this.journal),
      metrics: this.metrics,
      events,
      now: events.now ?? (() => new Date()),
      pace: { lastUpload: 0 },
      stopping: () => this.winding,
      folderOf: (path) => d.dropFolders.find((f) => f.path === path),
      wake: () => this.wakeUp?.(),
    };
  }

  /** This node's name: daemon.store.node, DMC_NODE, or the host's name. */
  get node(): string {
    return this.d.store?.node ?? defaultNode();
  }

  /** Asked to hand the account over (balancing): the pass in flight ends early, then the lease is released. */
  private handingOver: Promise<void> | undefined;
  private handedOver: (() => void) | undefined;

  /** The pass ends at the next step: the daemon stops, or hands the account over. */
  private get winding(): boolean {
    return this.stopping || this.handingOver !== undefined;
  }

  /** Whether this node leads the account now (always on SQLite). */
  get leads(): boolean {
    return this.leading();
  }

  /**
   * Hands the account over to another node (PostgreSQL; this node leads more
   * than its share): the operation in flight ends, nothing more starts, the
   * lease is released; the daemon stays up as a standby. Resolves once done.
   */
  handOver(): Promise<void> {
    if (!this.lease || !this.leading() || this.stopping) return Promise.resolve();
    this.handingOver ??= new Promise<void>((res) => {
      this.handedOver = res;
      this.wakeUp?.();
    });
    return this.handingOver;
  }

  /** Whether this node acts for the account now: always on SQLite; while it holds the lease on PostgreSQL. */
  private leading(): boolean {
    return this.lease ? this.lease.mayAct() : true;
  }

  /** Leader: resumes everything from the journal, as a restart does. Standby: the operation in flight ends now, nothing more starts. */
  private roleChanged(role: 'leader' | 'standby', l: { epoch: number } | undefined): void {
    if (role === 'leader') {
      // What the last leader did was notified to this node too, but a standby's notifications are not relied on.
      this.journal.noteChange();
      this.logger.info({ node: this.node, epoch: l?.epoch }, 'this node leads the account now: it resumes the work from the journal');
      this.ctx.events.onEvent?.({ type: 'leader', detail: `node ${this.node}, epoch ${l?.epoch ?? '?'}` });
      this.hooks.kick();
      for (const w of this.watchers) void w.rescan().catch(() => undefined);
      this.wakeUp?.();
      return;
    }
    this.link.abortNow();
    if (this.stopping) return;
    if (this.handingOver) {
      this.logger.info({ node: this.node }, 'handed the account over: this node is a standby for it now');
      this.ctx.events.onEvent?.({ type: 'standby', detail: `node ${this.node}, handed over` });
      return;
    }
    this.logger.warn({ node: this.node }, 'this node no longer leads the account (standby): nothing more is sent from here');
    this.ctx.events.onEvent?.({ type: 'standby', detail: `node ${this.node}` });
  }

  /** This node's role and the lease as it knows it (PostgreSQL), for /readyz and /metrics. */
  private roleView(): RoleView | undefined {
    const lease = this.lease;
    if (!lease) return undefined;
    const known = lease.known;
    return {
      account: this.config.service.serviceId,
      node: this.node,
      role: lease.role,
      ...(known ? { leader: known.holder, epoch: known.epoch } : {}),
      renewFailures: lease.renewFailuresTotal,
    };
  }

  private get d() {
    return this.config.daemon!;
  }

  async start(): Promise<void> {
    await this.open();
    for (const f of this.d.dropFolders) for (const dir of [f.path, ...Object.values(dirs(f.path))]) await mkdir(dir, { recursive: true });
    // What a killed run was writing in work/ (temporary files of builds cut short) belongs to no one now.
    for (const f of this.d.dropFolders) {
      const removed = await sweepTemporaries(dirs(f.path).work);
      if (removed) this.logger.info({ folder: f.path, removed }, `removed ${removed} temporary file(s) a stopped run left in work/`);
    }
    this.hooks.start();
    for (const f of this.d.dropFolders) {
      const w: DropWatcher = new DropWatcher({
        folder: f.path,
        stableMs: this.d.stableSeconds * 1000,
        rescanMs: this.d.rescanSeconds * 1000,
        doneMarker: f.doneMarker,
        usePolling: this.d.usePolling,
        onReady: (p) => {
          void this.intake(f, p, w);
        },
        onHealth: (healthy, error) => {
          void this.folderHealth(f, healthy, error).catch((e: unknown) =>
            this.logger.error({ folder: f.path, err: (e as Error).message }, "cannot record the drop folder's health"),
          );
        },
        onOrphanSidecar: (path) => {
          if (!this.leading()) return;
          void refuseSidecar(this.ctx, f, path).catch((e: unknown) =>
            this.logger.error({ file: printable(path), err: (e as Error).message }, 'cannot refuse the command file; trying again at the next rescan'),
          );
        },
        onSkipped: (path, why) => {
          this.logger.warn({ file: printable(path) }, `not taken: ${why}`);
        },
      });
      await w.start();
      this.watchers.push(w);
    }
    if (this.config.push && this.events.sharedPush) {
      // On PostgreSQL the receiver records statuses on every node, leader or not: a journal of its own, not fenced.
      if (this.lease) this.receiverJournal = await Journal.open(this.d.journal, 'receiver', storeOptions(this.d));
    } else if (this.config.push) {
      if (this.config.push.journal !== this.d.journal)
        this.logger.warn(
          { push: journalWhere(this.config.push.journal), daemon: this.journal.path },
          'push.journal differs from daemon.journal: the daemon records pushed statuses in its own journal',
        );
      const { startPushReceiver } = await import('../http/push-receiver.js');
      // On PostgreSQL the receiver records statuses on every node, leader or standby: a journal of its own, not fenced.
      if (this.lease) this.receiverJournal = await Journal.open(this.d.journal, 'receiver', storeOptions(this.d));
      this.receiver = await startPushReceiver({
        config: this.config.push,
        journal: this.receiverJournal ?? this.journal,
        logger: this.logger,
        hooks: this.hooks,
        serviceId: this.config.service.serviceId,
        onCommit: () => this.wakeUp?.(),
      });
    }
    if (this.d.http) {
      const http = this.d.http;
      const { startOpsServer } = await import('../http/ops-server.js');
      const withConsole = http.console
        ? {
            registerConsole: (await import('../http/console/console.js')).registerConsole,
            token: await (await import('../http/console/token.js')).consoleToken(http.tokenFile, this.logger),
          }
        : undefined;
      this.ops = await startOpsServer({
        host: http.host,
        port: http.port,
        account: this.config.service.serviceId,
        logger: this.logger,
        ...(withConsole
          ? {
              register: (app, ops) =>
                withConsole.registerConsole(app, {
                  ...this.consoleView(),
                  logger: this.logger,
                  token: withConsole.token,
                  tokenFile: http.tokenFile,
                  ...(http.authHeader ? { authHeader: http.authHeader } : {}),
                  account: ops.account,
                }),
            }
          : {}),
        source: this.opsSource(this.d.http.readyPassSeconds, () => this.receiver?.counters),
      });
    }
    if (this.lease) {
      // Not a leader until the store says so: the first attempt now, then every third of the lease.
      await this.lease.start();
      if (!this.lease.mayAct()) this.logger.info({ node: this.node }, 'standby: another node leads the account; this one takes over if it stops renewing');
    }
    this.loop = this.run();
    this.logger.info({ folders: this.d.dropFolders.map((f) => f.path), journal: this.journal.path }, 'daemon started');
  }

  /** Stops taking files, lets the operation in flight end (bounded by its own timeout) and starts no other, closes the connection and the journal. */
  async stop(): Promise<void> {
    this.stopping = true;
    // A node on its way out takes no lease: a standby stays one (a leader keeps its lease until it hands it over below).
    this.lease?.retire();
    // The operation in flight ends (bounded by its timeout); no retry and no next step start: they resume at the next start.
    this.link.stop();
    // Each phase is named; one still pending after STOP_SAY_MS is said (and again every STOP_SAY_MS), so a slow stop says why.
    let phase = '';
    const since = performance.now();
    const say = setInterval(
      () => this.logger.warn({ phase, seconds: Math.round((performance.now() - since) / 1000) }, `still stopping: waiting for ${phase}`),
      STOP_SAY_MS,
    );
    say.unref();
    const step = async (name: string, fn: () => Promise<unknown> | undefined): Promise<void> => {
      phase = name;
      await fn();
    };
    try {
      // The receiver first: no status is answered once the journal is about to close.
      await step('the push receiver to close', () => this.receiver?.close());
      await step('the metrics and console server to close', () => this.ops?.close());
      for (const w of this.watchers) await step(`the watcher of ${w.folder} to close`, () => w.close());
      this.wakeUp?.();
      await step('the operation in flight to end', () => this.loop);
      // A hand-over asked for and not done: the lease is handed over below anyway.
      this.handedOver?.();
      await step('the hook deliveries in flight to end', () => this.hooks?.drain());
      await step('the connection to the account to close', () => this.link.close());
      // A drain: the lease is handed over at once, not left to run out.
      await step('the lease to be handed over', () => this.lease?.stop(true));
      await step("the push receiver's journal to close", () => this.receiverJournal?.close());
      await step('the journal to close', () => this.journal?.close());
    } finally {
      clearInterval(say);
    }
    this.logger.info('daemon stopped');
  }

  /** What the metrics and readiness of this account read (its own server, or the process's with several accounts). */
  opsSource(passWithinSeconds: number, push: () => PushCounters | undefined): Omit<ReadinessSource, 'account'> {
    return {
      journal: this.journal,
      passWithinSeconds,
      lastPassAt: () => this.lastPassAt,
      push,
      ...(this.lease ? { role: () => this.roleView() } : {}),
    };
  }

  /** What this account's console shows and acts on. */
  consoleView(): Pick<ConsoleOptions, 'journal' | 'folders' | 'wake' | 'lastPassAt' | 'lease' | 'node'> {
    return {
      journal: this.journal,
      folders: this.d.dropFolders.map((f) => f.path),
      wake: () => this.wakeUp?.(),
      lastPassAt: () => this.lastPassAt,
      ...(this.lease ? { lease: () => this.journal.lease(this.config.service.serviceId), node: this.node } : {}),
    };
  }

  /** The metrics sink of the process's server (several accounts): this account's steps count there from now on. */
  useMetrics(m: DaemonMetrics): void {
    this.sharedMetrics = m;
  }

  private sharedMetrics: DaemonMetrics | undefined;

  /** Where a shared push receiver records this account's statuses (after start(); with `sharedPush`). */
  pushTarget(): PushTarget {
    return { journal: this.receiverJournal ?? this.journal, hooks: this.hooks, onCommit: () => this.wakeUp?.() };
  }

  /** The push section this daemon's configuration has (a shared receiver runs it, with `sharedPush`). */
  get pushConfig(): ResolvedConfig['push'] {
    return this.config.push;
  }

  /** The drop folders it watches. */
  get folders(): readonly DropFolderConfig[] {
    return this.d.dropFolders;
  }

  /** Its journal as configured (a file, or a postgres:// URL). */
  get journalWhere(): string {
    return this.d.journal;
  }

  /** Asks the account's lease now (a node said it handed leases over); nothing on SQLite. */
  pokeLease(): void {
    this.lease?.poke();
  }

  /** Whether this account has a `daemon.http` of its own (else the process's server serves it, with several accounts). */
  get ownHttp(): boolean {
    return this.d.http !== undefined;
  }

  /** The account's service id. */
  get account(): string {
    return this.config.service.serviceId;
  }

  /** The metrics and health endpoints' address, when configured (`http://127.0.0.1:8481`). */
  get opsOrigin(): string | undefined {
    return this.ops?.origin;
  }

  /** The push receiver's address, when the daemon runs one (`http://127.0.0.1:8480`). */
  get pushOrigin(): string | undefined {
    return this.receiver?.origin;
  }

  /** Passes of the worker's loop completed since start (a test waits for passes, never for a fixed time). */
  get passes(): number {
    return this.passCount;
  }

  /** Collects the reports now (tests, and the report step of the loop). */
  async collectReports(): Promise<void> {
    await collectReports(this.ctx);
    this.schedule.done(this.ctx.now());
  }

  /** A file the watcher found complete; a failed intake is retried by the watcher's next look. */
  private async intake(f: DropFolderConfig, path: string, w: DropWatcher): Promise<void> {
    // A standby takes nothing: the leader does; this node looks again when it leads (rescan).
    if (!this.leading()) {
      w.forget(path);
      return;
    }
    // One intake of a path at a time: a second, started while the first is still journaling it, would find the first's
    // row by its hash and refuse the file as a duplicate of itself.
    if (this.taking.has(path)) return;
    this.taking.add(path);
    try {
      await this.takeOne(f, path, w);
    } finally {
      this.taking.delete(path);
    }
  }

  private readonly taking = new Set<string>();

  private async takeOne(f: DropFolderConfig, path: string, w: DropWatcher): Promise<void> {
    try {
      // Not taken yet (work/ refused it): the error it recorded stays shown until the worker's move succeeds.
      if (await take(this.ctx, f, path, (p) => w.forget(p))) await this.journal.clearIntakeError(path);
    } catch (e) {
      // Deposed while taking it: nothing was written; the leader takes the file (this node again if it leads later).
      if (e instanceof DeposedError || !this.leading()) {
        w.forget(path);
        return;
      }
      const msg = (e as Error).message;
      this.logger.error({ file: printable(path), err: msg }, 'cannot take the file; trying again');
      this.ctx.events.onEvent?.({ type: 'retry', name: path, detail: msg });
      // Shown by status (best effort: a full disk may refuse this too); the watcher offers the file again.
      try {
        await this.journal.recordIntakeError(path, msg);
      } catch {
        /* logged above */
      }
      w.forget(path);
    }
  }

  private async folderHealth(f: DropFolderConfig, healthy: boolean, error?: string): Promise<void> {
    if (!this.leading()) return;
    const before = (await this.journal.folders()).find((r) => r.path === f.path);
    await this.journal.tx(async () => {
      await this.journal.setFolderHealth(f.path, healthy, error);
      if (!healthy) await this.hooks.enqueue({ event: 'unhealthy', folder: f.path, ...(error ? { detail: error } : {}) });
      else if (before && !before.healthy) await this.hooks.enqueue({ event: 'recovered', folder: f.path });
    });
    if (!healthy) {
      this.logger.error({ folder: f.path, err: error }, 'drop folder unreadable: nothing is taken from it until it is back');
      this.ctx.events.onEvent?.({ type: 'unhealthy', name: f.path, ...(error ? { detail: error } : {}) });
    } else if (before && !before.healthy) {
      // The folder may have come back empty: the daemon's own folders inside it too.
      for (const dir of Object.values(dirs(f.path))) void mkdir(dir, { recursive: true }).catch(() => undefined);
      this.logger.info({ folder: f.path }, 'drop folder readable again');
      this.ctx.events.onEvent?.({ type: 'recovered', name: f.path });
    }
  }

  /** The worker: everything actionable, in order, until stopped. */
  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      if (this.handingOver) {
        // Between two passes: nothing of this account is in flight here.
        this.logger.info({ node: this.node }, 'handing the account over to another node (this node leads more than its share)');
        await this.lease!.handOver();
        this.handingOver = undefined;
        this.handedOver?.();
        continue;
      }
      let progressed = false;
      const started = performance.now();
      try {
        if (this.leading()) progressed = await this.pass();
        this.passCount++;
        this.lastPassAt = Date.now();
        this.metrics.pass((performance.now() - started) / 1000, true);
        failures = 0;
      } catch (e) {
        if (this.stopping) {
          this.logger.info({ err: (e as Error).message }, 'stopping: the rest of this pass resumes at the next start');
          break;
        }
        if (e instanceof DeposedError || (e instanceof TransportError && e.code === 'DEPOSED') || !this.leading()) {
          // Deposed in the middle of a pass: nothing of it was committed after the lease ran out; the leader resumes it.
          this.logger.info({ err: (e as Error).message }, 'pass ended: this node no longer leads the account');
          await this.link.reset();
          continue;
        }
        this.metrics.pass((performance.now() - started) / 1000, false);
        if (e instanceof TransportError) this.metrics.account(false, e.message);
        failures++;
        // One message for the log and the event line: what failed, how many times in a row, and when it is tried again.
        const said = `pass failed (${failures} in a row): ${(e as Error).message}; next pass in ${Math.round(backoffMs(failures) / 1000)} s at most`;
        this.logger.warn({ err: (e as Error).message, failures }, said);
        this.ctx.events.onEvent?.({ type: 'retry', detail: said });
        await this.link.reset();
      }
      if (this.stopping) break;
      if (!progressed && !this.handingOver) {
        // After failures (server down, network cut): exponential backoff up to a minute.
        const wait = failures > 0 ? backoffMs(failures) : Math.max(1000, this.config.timeouts.poll * 1000);
        await new Promise<void>((res) => {
          const t = setTimeout(res, wait);
          t.unref();
          this.wakeUp = () => {
            clearTimeout(t);
            res();
          };
        });
        this.wakeUp = undefined;
      }
    }
  }

  /**
   * One step for one input, isolated: a transport fault fails the pass
   * (backoff); any other error counts an attempt on this input only, which
   * then waits before its next attempt.
   */
  private async guarded(row: InputRow, step: () => Promise<boolean | void>): Promise<boolean> {
    // After a failed attempt the input waits 1 s, 2 s, 4 s... (at most a minute) before the next one.
    if (
      row.attempts > 0 &&
      row.last_error !== null &&
      this.ctx.now().getTime() - new Date(row.updated_at).getTime() < Math.min(60_000, 1000 * 2 ** (row.attempts - 1))
    )
      return false;
    try {
      return (await step()) !== false;
    } catch (e) {
      // The account or the journal's database out of reach: the pass fails and backs off; the input is not to blame.
      if (e instanceof TransportError || e instanceof DeposedError || e instanceof StoreUnavailableError) throw e;
      const msg = (e as Error).message;
      const attempts = await this.journal.recordError(row.id, msg);
      const folder = this.ctx.folderOf(row.folder);
      this.logger.error({ input: row.id, name: row.name, attempt: attempts, of: this.d.maxAttempts, err: msg }, 'step failed for this input');
      if (attempts >= this.d.maxAttempts && folder) {
        await failInput(this.ctx, folder, (await this.journal.input(row.id))!, [
          { code: 'E_EXPORT', severity: 'error', message: `failed ${attempts} times (daemon.maxAttempts): ${msg}` },
        ]);
        return true;
      }
      return false;
    }
  }

  /** Looks for outcomes at most every `poll` seconds (also between uploads, so none is archived unseen). */
  private async outcomesIfTime(force = false): Promise<boolean> {
    if (!force && Date.now() - this.lastOutcomeLook < Math.max(1000, this.config.timeouts.poll * 1000)) return false;
    this.lastOutcomeLook = Date.now();
    const looked = await followOutcomes(this.ctx);
    // Inputs whose triggers all have an outcome are done now, not at the end of a long batch.
    return (await concludeSent(this.ctx)) || looked;
  }

  /** One pass over what is actionable; true when something moved on. */
  private async pass(): Promise<boolean> {
    let progressed = false;
    const ctx = this.ctx;
    // On PostgreSQL, a pass after one that found nothing to do reads nothing until the store notifies a change.
    const mark = this.journal.changeMark();
    let quiet = this.journal.quiet();
    // One read says which steps have anything to do; once a step has moved something on, the later ones look anyway.
    const live = quiet ? new Set<InputState>() : await this.journal.liveStates();
    const any = (...states: InputState[]): boolean => progressed || states.some((st) => live.has(st));
    const forget = (p: string): void => {
      for (const w of this.watchers) w.forget(p);
    };
    for (const row of any('seen') ? await this.journal.inputsIn('seen') : []) {
      const f = ctx.folderOf(row.folder);
      if (!f) continue;
      const path = join(f.path, row.name);
      // A move that fails is the folder's trouble (a full disk, work/ not writable), not the file's: retried, shown, never failed.
      try {
        await moveToWork(ctx, f, row, forget);
        await this.journal.clearIntakeError(path);
        progressed = true;
      } catch (e) {
        await this.journal.recordIntakeError(path, `cannot move it to work/: ${(e as Error).message}`);
      }
    }
    if (any('working')) for (const f of this.d.dropFolders) if (f.group && !this.winding && (await buildGroup(ctx, f))) progressed = true;
    for (const row of any('working') ? await this.journal.inputsIn('working') : []) {
      if (this.winding) return progressed;
      const f = ctx.folderOf(row.folder);
      if (!f) continue;
      if (row.kind === 'document') {
        if (ctx.now().getTime() - new Date(row.created_at).getTime() > DOCUMENT_WAIT_MS) {
          await failInput(ctx, f, row, [
            {
              code: 'E_DOCUMENT_MISSING',
              severity: 'error',
              message: `no trigger dropped in this folder named ${row.name} (fileName or fileAttachment) within an hour: drop the trigger with it, or list it in the folder's documents`,
            },
          ]);
          progressed = true;
        }
        continue;
      }
      if (f.group && row.group_leader !== -1 && row.kind === 'export') continue;
      if (await this.guarded(row, () => buildInput(ctx, f, row))) progressed = true;
    }
    for (const row of any('built') ? await this.journal.inputsIn('built') : []) {
      if (this.winding) return progressed;
      if (!isMember(row) && (await this.guarded(row, () => sendInput(ctx, row)))) progressed = true;
      if (await this.outcomesIfTime()) progressed = true;
    }
    if (any('built', 'sent') && (await this.outcomesIfTime(true))) progressed = true;
    for (const row of any('built', 'sent') ? await this.journal.inputsIn('built', 'sent') : [])
      if (isMember(row) && (await followLeader(ctx, row))) progressed = true;
    // A final input is only moved into place: a failure (a full disk) is logged and retried next pass, never turned
    // into another state (guarded's failInput would be an illegal done → failed).
    for (const row of any('done', 'failed', 'duplicate', 'retried') ? await this.journal.inputsIn('done', 'failed', 'duplicate', 'retried') : []) {
      await settleFiles(ctx, row).catch((e: Error) =>
        this.logger.error({ input: row.id, name: printable(row.name), err: e.message }, 'cannot move the files of a finished input; trying again'),
      );
    }
    if (this.config.hasTransport && !this.winding && this.schedule.due(ctx.now())) {
      await this.collectReports();
      quiet = false;
    }
    if (this.winding) return progressed;
    const results = await writeDueResults(ctx, quiet);
    if (results.wrote) progressed = true;
    // Nothing live, nothing due, nothing done: the passes until the next change need not read.
    if (!quiet && !progressed && live.size === 0 && !results.due) this.journal.markQuiet(mark);
    return progressed;
  }
}

/** The wait after `failures` failed passes in a row: 1 s, doubling, at most a minute (a new input wakes the loop sooner). */
const backoffMs = (failures: number): number => Math.min(60_000, 1000 * 2 ** Math.min(failures - 1, 6));
