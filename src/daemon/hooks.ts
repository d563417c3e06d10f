/**
 * Hooks: for each event (`sent`, `processed`, `failed`, `report`,
 * `unhealthy`, `recovered`, `status`: a batch of push statuses), run a command with the event as JSON on stdin
 * and/or POST it to a webhook.
 *
 * Delivery is at least once, across crashes: an event is written to the
 * journal's outbox in the same transaction as the state change it reports,
 * and stays there until its hook succeeded (retried with backoff, up to
 * `MAX_ATTEMPTS`, then `dead` and shown by `status`). Each event carries an
 * `id` that stays the same across redeliveries, so a receiver can
 * deduplicate. Hooks never hold up the pipeline.
 */
import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import type { Logger } from '../transport/logger.js';
import type { HookOutboxRow, Journal } from '../store/journal.js';

export type HookEventType = 'sent' | 'processed' | 'failed' | 'report' | 'unhealthy' | 'recovered' | 'status';

export interface HookConfig {
  readonly on: readonly HookEventType[];
  readonly command?: string;
  readonly url?: string;
}

export interface HookEvent {
  /** The same for every delivery of this event: receivers deduplicate on it. */
  readonly id: string;
  readonly event: HookEventType;
  readonly at: string;
  /** The DMC account the event belongs to (its service id): one receiver can tell several daemons' events apart. */
  readonly account: string;
  readonly input?: { readonly id: number; readonly folder: string; readonly name: string };
  readonly triggers?: readonly { readonly remoteName: string; readonly contacts: number; readonly state: string }[];
  /** Rows of the input left out under partial acceptance (present when some were). */
  readonly rejected?: number;
  readonly report?: { readonly name: string; readonly localPath: string };
  /** With `report`: the broadcasts the report's lines linked to the inputs that created them. */
  readonly links?: readonly {
    readonly broadcastId: string;
    readonly remoteName: string;
    readonly input: { readonly id: number; readonly name: string; readonly folder: string };
  }[];
  /** With `status`: the statuses one commit of the push receiver recorded (at most 1,000; `count` has them all). */
  readonly statuses?: readonly {
    readonly medium: string;
    readonly to: string;
    readonly status: string;
    readonly date: string;
    readonly broadcastId: string;
    readonly contactId: string;
    readonly refExterne: string;
    readonly code?: string;
    readonly info?: string;
  }[];
  readonly count?: number;
  /** With `unhealthy` and `recovered`: the drop folder. */
  readonly folder?: string;
  readonly detail?: string;
}

/** Attempts before a delivery is given up (`dead`). */
export const MAX_ATTEMPTS = 10;
const backoffMs = (attempts: number): number => Math.min(300_000, 500 * 2 ** Math.min(attempts, 10));

const hookKey = (h: HookConfig): string =>
  createHash('sha256')
    .update(`${h.command ?? ''}\n${h.url ?? ''}`)
    .digest('hex')
    .slice(0, 16);

export class Hooks {
  private readonly byKey = new Map<string, HookConfig>();
  private running: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** A kick arrived while a delivery round ran: run another round after it. */
  private again = false;

  constructor(
    private readonly hooks: readonly HookConfig[],
    private readonly journal: Journal,
    private readonly logger: Logger,
    /** The account's service id, carried by every event. */
    private readonly account: string,
    /** Whether this node delivers now (the account's leader; always on SQLite). */
    private readonly active: () => boolean = () => true,
  ) {
    for (const h of hooks) this.byKey.set(hookKey(h), h);
  }

  /**
   * Puts the event in the outbox for each hook that listens to it. Call it
   * inside the journal transaction of the state change it reports.
   */
  /** Whether some hook listens to this event (an event none does is not built). */
  wants(event: HookEvent['event']): boolean {
    return this.hooks.some((h) => h.on.includes(event));
  }

  async enqueue(e: Omit<HookEvent, 'id' | 'at' | 'account'>): Promise<void> {
    const event: HookEvent = { id: randomUUID(), at: new Date().toISOString(), account: this.account, ...e };
    const payload = JSON.stringify(event);
    // Delivered once the transaction it joins has committed, never before.
    await this.journal.tx(
      async () => {
        for (const h of this.hooks) if (h.on.includes(e.event)) await this.journal.enqueueHook(event.id, hookKey(h), payload);
      },
      () => this.kick(),
    );
  }

  /** Starts delivering (what the outbox holds from earlier runs too). */
  start(): void {
    this.stopped = false;
    this.kick();
  }

  /** Delivers what is due now, then sleeps until the next delivery is due. */
  kick(): void {
    if (this.stopped || this.hooks.length === 0) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.running = (async () => {
      let next: string | undefined;
      try {
        await this.deliverDue();
        if (!this.again && !this.stopped) next = await this.journal.nextHookDue();
      } catch (err) {
        this.logger.error({ err: (err as Error).message }, 'hook delivery failed');
      }
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.kick();
        return;
      }
      this.schedule(next);
    })();
  }

  /** Sleeps until the next delivery is due (`next`, from the outbox). */
  private schedule(next: string | undefined): void {
    if (this.stopped || !next) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.kick();
      },
      Math.max(50, new Date(next).getTime() - Date.now()),
    );
    this.timer.unref();
  }

  /** Stops scheduling and waits for the deliveries in flight; what is left stays in the outbox. */
  async drain(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private async deliverDue(): Promise<void> {
    for (;;) {
      if (!this.active()) return;
      const due = await this.journal.dueHooks(20);
      if (due.length === 0) return;
      for (const row of due) {
        if (this.stopped) return;
        await this.deliverOne(row);
      }
    }
  }

  private async deliverOne(row: HookOutboxRow): Promise<void> {
    const h = this.byKey.get(row.hook);
    if (!h) {
      await this.journal.setHook(row.id, 'dead', { error: 'this hook is no longer configured' });
      return;
    }
    const event = (JSON.parse(row.payload) as HookEvent).event;
    try {
      if (h.command) await runCommand(h.command, row.payload, event);
      if (h.url)
        await post(h.url, row.payload).catch((e: Error) => {
          throw new Error(redactUrlSecrets(e.message, h.url!));
        });
      await this.journal.setHook(row.id, 'delivered');
    } catch (e) {
      const attempts = row.attempts + 1;
      const msg = (e as Error).message;
      if (attempts >= MAX_ATTEMPTS) {
        await this.journal.setHook(row.id, 'dead', { error: msg });
        this.logger.error({ hook: h.command ? 'command' : 'webhook', event, eventId: row.event_id, attempts, err: msg }, 'hook failed; given up (see status)');
      } else {
        const nextAt = new Date(Date.now() + backoffMs(attempts));
        await this.journal.setHook(row.id, 'pending', { error: msg, nextAt });
        this.logger.warn(
          { hook: h.command ? 'command' : 'webhook', event, eventId: row.event_id, attempt: attempts, next: nextAt.toISOString(), err: msg },
          'hook failed; will retry',
        );
      }
    }
  }
}

function runCommand(command: string, stdin: string, event: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('/bin/sh', ['-c', command], { stdio: ['pipe', 'ignore', 'pipe'], env: { ...process.env, DMC_EVENT: event }, timeout: 30_000 });
    let err = '';
    p.stderr.on('data', (c: Buffer) => {
      if (err.length < 2000) err += c.toString();
    });
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`hook command exited ${code}: ${err.trim().slice(0, 300)}`))));
    p.stdin.on('error', () => undefined);
    p.stdin.end(stdin);
  });
}

/**
 * POSTs the event. Credentials in the URL (`https://user:pass@host/`) are
 * sent as HTTP Basic; no error ever quotes the URL's secrets.
 */
async function post(url: string, body: string): Promise<void> {
  const u = new URL(url);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (u.username || u.password) {
    headers['authorization'] = `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`;
    u.username = '';
    u.password = '';
  }
  let r: Response;
  try {
    r = await fetch(u, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    // The cause is not chained: its message may hold the URL's credentials.
    // eslint-disable-next-line preserve-caught-error
    throw new Error(redactUrlSecrets(`webhook ${redactedUrl(url)} not reached: ${cause?.code ?? cause?.message ?? (e as Error).message}`, url));
  }
  if (!r.ok) throw new Error(`webhook ${redactedUrl(url)} answered ${r.status}`);
}

/** The URL as logs may show it: credentials and query values replaced by `***`. */
export function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username) u.username = '***';
    if (u.password) u.password = '***';
    for (const k of [...u.searchParams.keys()]) u.searchParams.set(k, '***');
    return u.toString().replace(/%2A%2A%2A/g, '***');
  } catch {
    return '[webhook URL]';
  }
}

/** `text` with every secret of `url` (password, query values) replaced by `***`. */
export function redactUrlSecrets(text: string, url: string): string {
  let out = text.split(url).join(redactedUrl(url));
  try {
    const u = new URL(url);
    const secrets = [u.password, decodeURIComponent(u.password), ...[...u.searchParams.values()]].filter((x) => x.length >= 3);
    for (const x of secrets.sort((a, b) => b.length - a.length)) out = out.split(x).join('***');
  } catch {
    /* not a URL: nothing to find */
  }
  return out;
}
