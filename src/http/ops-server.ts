/**
 * The daemon's operations endpoints (`daemon.http`): Prometheus metrics
 * (prom-client, a registry of the daemon's own), `/healthz` (the process
 * answers) and `/readyz` (journal writable, last pass recent, folders
 * readable, account reachable at the last try; the reasons in the body when
 * not). Bound to 127.0.0.1 by default; apart from the push receiver, which
 * may face the platform, so that these never do.
 *
 * Gauges are read from the journal at each scrape (inputs by state,
 * triggers by outcome, hook deliveries, folder health): they are true after
 * a restart. Counters and histograms count since start (uploads, passes,
 * reports, push statuses).
 */
import type { FastifyInstance } from 'fastify';
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DaemonMetrics } from '../daemon/context.js';
import type { Journal } from '../store/journal.js';
import { contactCounts } from '../store/statuses.js';
import type { Logger } from '../transport/logger.js';
import type { PushCounters } from './push-receiver.js';

/** The state the readiness check reads. */
export interface ReadinessSource {
  readonly journal: Journal;
  /** Seconds after which a pass is no longer recent. */
  readonly passWithinSeconds: number;
  lastPassAt(): number | undefined;
  account(): { reachable: boolean; error?: string; at?: number } | undefined;
  push(): PushCounters | undefined;
  /** On a PostgreSQL journal: this node's role for the account and the lease as it knows it (undefined on SQLite). */
  role?(): RoleView | undefined;
}

/** A node's role for its account, as /readyz and /metrics show it. */
export interface RoleView {
  readonly account: string;
  readonly node: string;
  readonly role: 'leader' | 'standby';
  /** The leader as this node last read the lease (itself when it leads). */
  readonly leader?: string;
  readonly epoch?: number;
  /** Failed attempts at taking or renewing the lease since start. */
  readonly renewFailures: number;
}

export interface OpsServer {
  readonly origin: string;
  readonly metrics: DaemonMetrics;
  close(): Promise<void>;
}

export interface OpsServerOptions {
  readonly host: string;
  readonly port: number;
  /** The DMC account's service id: every metric carries it as its `account` label. */
  readonly account: string;
  /** What readiness and the gauges read; the account's reachability is told through `metrics.account`. */
  readonly source: Omit<ReadinessSource, 'account'>;
  readonly logger: Logger;
  /** More routes on the same server (the console), registered before it listens. */
  readonly register?: (app: FastifyInstance, ops: { account: () => { reachable: boolean; error?: string } | undefined }) => void;
}

/** Why the daemon is not ready (empty: ready). */
export async function notReady(s: ReadinessSource, now = Date.now()): Promise<string[]> {
  const why: string[] = [];
  try {
    // A write transaction: the journal takes writes (not full, not read-only, not locked for long).
    await s.journal.ping();
  } catch (e) {
    why.push(`the journal takes no writes: ${(e as Error).message}`);
  }
  // A standby acts on nothing: ready when it reaches the database; what the leader does is the leader's readiness.
  if (s.role?.()?.role === 'standby') return why;
  const last = s.lastPassAt();
  if (last === undefined) why.push('no pass has completed yet');
  else if (now - last > s.passWithinSeconds * 1000)
    why.push(`the last completed pass was ${Math.round((now - last) / 1000)} s ago (more than ${s.passWithinSeconds} s)`);
  for (const f of await s.journal.folders().catch(() => []))
    if (!f.healthy) why.push(`drop folder ${f.path} cannot be read since ${f.since}: ${f.error ?? ''}`);
  const a = s.account();
  if (a && !a.reachable) why.push(`the account was unreachable at the last try: ${a.error ?? ''}`);
  return why;
}

/** One account's metrics: a registry of its own, every series labelled with the account. */
interface AccountMetrics {
  readonly account: string;
  readonly registry: Registry;
  readonly metrics: DaemonMetrics;
  readonly source: ReadinessSource;
}

/** What one account's metrics and readiness read. */
export interface AccountSource {
  /** The DMC account's service id: every metric carries it as its `account` label. */
  readonly account: string;
  /** What readiness and the gauges read; the account's reachability is told through `metrics.account`. */
  readonly source: Omit<ReadinessSource, 'account'>;
}

function accountMetrics(prom: typeof import('prom-client'), o: AccountSource): AccountMetrics {
  const registry: Registry = new prom.Registry();
  // Every series names its account, so that the series of several daemons (or, later, several accounts) stay apart.
  registry.setDefaultLabels({ account: o.account });
  const { journal } = o.source;
  let account: { reachable: boolean; error?: string; at?: number } | undefined;
  const source: ReadinessSource = {
    journal: o.source.journal,
    passWithinSeconds: o.source.passWithinSeconds,
    lastPassAt: () => o.source.lastPassAt(),
    account: () => account,
    push: () => o.source.push(),
    ...(o.source.role ? { role: () => o.source.role?.() } : {}),
  };
  const gauge = (name: string, help: string, labelNames: string[], collect: (g: Gauge) => void | Promise<void>): void => {
    new prom.Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        this.reset();
        await collect(this);
      },
    });
  };
  const byState = async (g: Gauge, label: string, table: 'inputs' | 'triggers', column: 'state' | 'outcome'): Promise<void> => {
    for (const [k, n] of Object.entries(await journal.countsBy(table, column))) g.set({ [label]: k }, n);
  };
  gauge('dmc_inputs', 'Inputs in the journal by state', ['state'], (g) => byState(g, 'state', 'inputs', 'state'));
  gauge('dmc_triggers', 'Trigger files by state', ['state'], (g) => byState(g, 'state', 'triggers', 'state'));
  gauge('dmc_triggers_by_outcome', 'Trigger files by outcome on the platform (none: not known yet)', ['outcome'], (g) =>
    byState(g, 'outcome', 'triggers', 'outcome'),
  );
  gauge('dmc_rows_rejected_total', 'Export rows left out under partial acceptance (rejectBadRows), over every input in the journal', [], async (g) =>
    g.set(await journal.rejectedTotal()),
  );
  gauge(
    'dmc_contacts',
    'Contacts of the broadcasts linked to a trigger, by final status, as the results file and the console count them (one per contact: delivered when any medium delivered)',
    ['status'],
    async (g) => {
      for (const [status, n] of Object.entries(await contactCounts(journal.sql))) g.set({ status }, n);
    },
  );
  gauge('dmc_hook_deliveries', 'Hook deliveries in the outbox by state (delivered, pending, dead)', ['state'], async (g) => {
    for (const [state, n] of Object.entries(await journal.hookSummary())) g.set({ state }, n);
  });
  gauge('dmc_folder_healthy', 'Whether each drop folder can be read (1) or not (0)', ['folder'], async (g) => {
    for (const f of await journal.folders()) g.set({ folder: f.path }, f.healthy);
  });
  gauge('dmc_last_pass_timestamp_seconds', 'When the last pass of the worker completed (Unix time)', [], (g) => {
    const t = o.source.lastPassAt();
    if (t !== undefined) g.set(t / 1000);
  });
  gauge('dmc_account_reachable', 'Whether the account answered at the last try (1) or not (0)', [], (g) => {
    const a = source.account();
    if (a) g.set(a.reachable ? 1 : 0);
  });
  gauge('dmc_push_statuses_total', 'Push statuses recorded since start (each history entry once)', [], (g) => g.set(o.source.push()?.statuses ?? 0));
  gauge('dmc_push_duplicates_total', 'Push statuses received again and not recorded twice, since start', [], (g) => g.set(o.source.push()?.duplicates ?? 0));
  gauge('dmc_push_refused_total', 'Push posts refused since start, by HTTP status', ['status'], (g) => {
    for (const [status, n] of Object.entries(o.source.push()?.refused ?? {})) g.set({ status }, n);
  });
  gauge('dmc_lease_leader', 'Whether this node leads its account (1) or is standby (0); PostgreSQL journal only', ['account', 'node'], (g) => {
    const r = source.role?.();
    if (r) g.set({ account: r.account, node: r.node }, r.role === 'leader' ? 1 : 0);
  });
  gauge('dmc_lease_epoch', "The account's lease epoch as this node last read it; PostgreSQL journal only", ['account'], (g) => {
    const r = source.role?.();
    if (r?.epoch !== undefined) g.set({ account: r.account }, r.epoch);
  });
  gauge(
    'dmc_lease_renew_failures_total',
    "Failed attempts at taking or renewing the account's lease since start (the database out of reach); PostgreSQL journal only",
    ['account'],
    (g) => {
      const r = source.role?.();
      if (r) g.set({ account: r.account }, r.renewFailures);
    },
  );
  const uploadBytes: Counter = new prom.Counter({ name: 'dmc_upload_bytes_total', help: 'Bytes of trigger files uploaded', registers: [registry] });
  const uploadSeconds: Histogram = new prom.Histogram({
    name: 'dmc_upload_duration_seconds',
    help: 'Time to upload and rename one trigger file (documents included)',
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [registry],
  });
  const passes: Counter = new prom.Counter({
    name: 'dmc_passes_total',
    help: 'Passes of the worker, by result',
    labelNames: ['result'],
    registers: [registry],
  });
  const passSeconds: Histogram = new prom.Histogram({
    name: 'dmc_pass_duration_seconds',
    help: 'Duration of a pass of the worker',
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300],
    registers: [registry],
  });
  const reports: Counter = new prom.Counter({ name: 'dmc_reports_collected_total', help: 'Daily reports downloaded and acked', registers: [registry] });
  const metrics: DaemonMetrics = {
    uploaded: (bytes, seconds) => {
      uploadBytes.inc(bytes);
      uploadSeconds.observe(seconds);
    },
    pass: (seconds, ok) => {
      passes.inc({ result: ok ? 'ok' : 'failed' });
      passSeconds.observe(seconds);
    },
    reportCollected: () => reports.inc(),
    account: (reachable, error) => {
      account = { reachable, at: Date.now(), ...(error ? { error } : {}) };
    },
  };
  return { account: o.account, registry, metrics, source };
}

export async function startOpsServer(o: OpsServerOptions): Promise<OpsServer> {
  const { register, account, source, ...rest } = o;
  const shared = await startSharedOpsServer({
    ...rest,
    accounts: [{ account, source }],
    ...(register ? { register: (app, ops) => register(app, { account: () => ops.account(account) }) } : {}),
  });
  return { origin: shared.origin, metrics: shared.metrics.get(account)!, close: shared.close };
}

export interface SharedOpsServerOptions extends Omit<OpsServerOptions, 'account' | 'source' | 'register'> {
  /** Every account the process serves (issue #21): /metrics holds each one's series, /readyz each one's reasons. */
  readonly accounts: readonly AccountSource[];
  readonly register?: (app: FastifyInstance, ops: { account: (id: string) => { reachable: boolean; error?: string } | undefined }) => void;
  /** The process's push receiver (several accounts): what it refused is no account's, so its series carry no `account`. */
  readonly push?: () => PushCounters | undefined;
}

export interface SharedOpsServer {
  readonly origin: string;
  /** Each account's metrics sink, by service id. */
  readonly metrics: ReadonlyMap<string, DaemonMetrics>;
  close(): Promise<void>;
}

/**
 * Prometheus text of several registries as one exposition: a metric family
 * appears once (its HELP and TYPE once), with every account's samples.
 */
export function mergeExpositions(texts: readonly string[]): string {
  const families = new Map<string, { head: string[]; samples: string[] }>();
  for (const text of texts) {
    let current: { head: string[]; samples: string[] } | undefined;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const m = /^# (HELP|TYPE) (\S+)/.exec(line);
      if (m) {
        let f = families.get(m[2]!);
        if (!f) families.set(m[2]!, (f = { head: [], samples: [] }));
        if (!f.head.some((h) => h.startsWith(`# ${m[1]} `))) f.head.push(line);
        current = f;
      } else current?.samples.push(line);
    }
  }
  return [...families.values()].map((f) => [...f.head, ...f.samples].join('\n')).join('\n\n') + '\n';
}

/** The operations endpoints of one process: its accounts' metrics, health and readiness, and the console when registered. */
export async function startSharedOpsServer(o: SharedOpsServerOptions): Promise<SharedOpsServer> {
  const [{ default: Fastify }, prom] = await Promise.all([import('fastify'), import('prom-client')]);
  const accounts = o.accounts.map((a) => accountMetrics(prom, a));
  const registries = accounts.map((a) => a.registry);
  if (o.push) {
    const receiver = new prom.Registry();
    const push = o.push;
    new prom.Gauge({
      name: 'dmc_push_refused_total',
      help: 'Push posts refused since start, by HTTP status',
      labelNames: ['status'],
      registers: [receiver],
      collect() {
        this.reset();
        for (const [status, n] of Object.entries(push()?.refused ?? {})) this.set({ status }, n);
      },
    });
    new prom.Gauge({
      name: 'dmc_push_other_service_total',
      help: 'Push reports refused since start because they name a service this process does not serve',
      registers: [receiver],
      collect() {
        this.set(push()?.otherService ?? 0);
      },
    });
    registries.push(receiver);
  }
  const app: FastifyInstance = Fastify({ logger: false, connectionTimeout: 10_000, requestTimeout: 10_000 });
  app.get('/metrics', async (_req, reply) => {
    const texts = await Promise.all(registries.map((r) => r.metrics()));
    return reply.type(accounts[0]!.registry.contentType).send(texts.length === 1 ? texts[0] : mergeExpositions(texts));
  });
  app.get('/healthz', async (_req, reply) => reply.type('text/plain; charset=utf-8').send('ok\n'));
  app.get('/readyz', async (_req, reply) => {
    // Each account's reasons, named by its account when there are several: ready when every account is.
    const parts = await Promise.all(
      accounts.map(async (a) => {
        const why = await notReady(a.source);
        const r = a.source.role?.();
        const role = r ? ` (${r.role}${r.role === 'standby' ? `; leader ${r.leader ?? 'none'}` : ''}${r.epoch !== undefined ? `, epoch ${r.epoch}` : ''})` : '';
        return { account: a.account, why, role };
      }),
    );
    const ready = parts.every((p) => p.why.length === 0);
    const text =
      parts.length === 1
        ? ready
          ? `ready${parts[0]!.role}\n`
          : `not ready${parts[0]!.role}:\n${parts[0]!.why.map((w) => `- ${w}`).join('\n')}\n`
        : `${ready ? 'ready' : 'not ready'}\n${parts
            .map((p) => `account ${p.account}: ${p.why.length ? `not ready${p.role}\n${p.why.map((w) => `  - ${w}`).join('\n')}` : `ready${p.role}`}`)
            .join('\n')}\n`;
    return reply
      .code(ready ? 200 : 503)
      .type('text/plain; charset=utf-8')
      .send(text);
  });
  o.register?.(app, { account: (id) => accounts.find((a) => a.account === id)?.source.account() });
  app.setNotFoundHandler((_req, reply) => reply.code(404).type('text/plain; charset=utf-8').send('not found\n'));
  await app.listen({ host: o.host, port: o.port });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  const origin = `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}`;
  o.logger.info({ origin }, 'metrics and health endpoints listening');
  return { origin, metrics: new Map(accounts.map((a) => [a.account, a.metrics])), close: () => app.close() };
}
