/**
 * Hooks: for each event (`sent`, `processed`, `failed`, `report`), run a
 * command with the event as JSON on stdin and/or POST it to a webhook, with
 * retries (backoff). Hooks never hold up the pipeline; the daemon waits for
 * those in flight when it stops. Delivery is at most once per event per
 * daemon run: an event whose hooks were in flight at a crash is not replayed.
 */
import { spawn } from 'node:child_process';
import pRetry from 'p-retry';
import type { Logger } from '../transport/logger.js';

export type HookEventType = 'sent' | 'processed' | 'failed' | 'report';

export interface HookConfig {
  readonly on: readonly HookEventType[];
  readonly command?: string;
  readonly url?: string;
}

export interface HookEvent {
  readonly event: HookEventType;
  readonly at: string;
  readonly input?: { readonly id: number; readonly folder: string; readonly name: string };
  readonly triggers?: readonly { readonly remoteName: string; readonly contacts: number; readonly state: string }[];
  readonly report?: { readonly name: string; readonly localPath: string };
  /** With `report`: the broadcasts the report's lines linked to the inputs that created them. */
  readonly links?: readonly { readonly broadcastId: string; readonly remoteName: string; readonly input: { readonly id: number; readonly name: string; readonly folder: string } }[];
  readonly detail?: string;
}

export class Hooks {
  private readonly inflight = new Set<Promise<void>>();

  constructor(private readonly hooks: readonly HookConfig[], private readonly logger: Logger) {}

  emit(e: HookEvent): void {
    for (const h of this.hooks) {
      if (!h.on.includes(e.event)) continue;
      const p = this.deliver(h, e).catch((err: Error) => this.logger.error({ hook: h.command ?? h.url, event: e.event, err: err.message }, 'hook failed after retries'));
      this.inflight.add(p);
      void p.finally(() => this.inflight.delete(p));
    }
  }

  /** Waits for the hooks in flight (bounded by their own timeouts and retries). */
  async drain(): Promise<void> {
    await Promise.all([...this.inflight]);
  }

  private async deliver(h: HookConfig, e: HookEvent): Promise<void> {
    const body = JSON.stringify(e);
    const retry = { retries: 3, minTimeout: 500, maxTimeout: 5000, randomize: true };
    if (h.command) await pRetry(() => runCommand(h.command!, body, e.event), retry);
    if (h.url) await pRetry(() => post(h.url!, body), retry);
  }
}

function runCommand(command: string, stdin: string, event: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('/bin/sh', ['-c', command], { stdio: ['pipe', 'ignore', 'pipe'], env: { ...process.env, DMC_EVENT: event }, timeout: 30_000 });
    let err = '';
    p.stderr.on('data', (c: Buffer) => { if (err.length < 2000) err += c.toString(); });
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`hook command exited ${code}: ${err.trim().slice(0, 300)}`))));
    p.stdin.on('error', () => undefined);
    p.stdin.end(stdin);
  });
}

async function post(url: string, body: string): Promise<void> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(10_000) });
  if (!r.ok) throw new Error(`webhook answered ${r.status}`);
}
