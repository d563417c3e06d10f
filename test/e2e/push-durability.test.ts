/**
 * A status answered 200 is in the journal, even when the receiver is killed
 * (SIGKILL) under load: posts from concurrent clients, the process killed
 * after a few hundred acknowledgements, then every acknowledged status is
 * looked up in the journal. Seeded: the same seed posts the same statuses.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { writePushReport, type PushElement } from '../../src/formats/push.js';
import { rng } from '../helpers/random.js';

const bin = join(new URL('../../', import.meta.url).pathname, 'dist/cli/main.js');
const root = mkdtempSync(join(tmpdir(), 'dmc-push-kill-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('push receiver durability', () => {
  it('SIGKILL under load: every status acknowledged with 200 is in the journal after restart', { timeout: 120_000 }, async () => {
    const seed = Number(process.env.PUSH_KILL_SEED ?? 7);
    const rand = rng(seed);
    writeFileSync(join(root, 'push.yaml'), 'service: {serviceId: "1"}\npush: {listen: "127.0.0.1:0", path: /dmc/status, journal: journal.db}\n');
    const child = spawn(process.execPath, [bin, 'push-receiver', '--config', join(root, 'push.yaml'), '--log-level', 'warn'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const origin = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /push receiver on (http:\/\/[^/\s]+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.on('exit', () => reject(new Error(`the receiver exited: ${out}`)));
      setTimeout(() => reject(new Error(`no start line in 20 s: ${out}`)), 20_000).unref();
    });
    const acked: string[] = [];
    let killed = false;
    let next = 0;
    const post = async (): Promise<void> => {
      while (!killed) {
        const n = next++;
        const contacts = 1 + Math.floor(rand() * 5);
        const elements: PushElement[] = Array.from({ length: contacts }, (_, k) => ({
          medium: 'sms',
          to: `+3360000${String(n).padStart(4, '0')}`,
          status: 'SENT',
          callId: `${n}-${k}`,
          broadcastId: String(n),
          contactId: String(k),
          refExterne: '',
          spaceId: '1',
          date: '2026-11-28 10:00:00',
          history: [{ type: 'SENT', date: '2026-11-28 10:00:00', seq: 0 }],
        }));
        try {
          const res = await fetch(`${origin}/dmc/status`, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: writePushReport('1', elements) });
          await res.text();
          if (res.status === 200) for (const e of elements) acked.push(`${e.broadcastId}/${e.contactId}`);
        } catch {
          return; // killed
        }
        if (acked.length >= 400 && !killed) {
          killed = true;
          child.kill('SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: 16 }, () => post()));
    await new Promise<void>((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', () => r())));
    expect(child.signalCode).toBe('SIGKILL');
    const db = new Database(join(root, 'journal.db'));
    try {
      const has = db.prepare('SELECT 1 FROM push_statuses WHERE broadcast_id = ? AND contact_id = ?');
      const lost = acked.filter((k) => {
        const [b, c] = k.split('/');
        return !has.get(b, c);
      });
      expect(lost, `seed ${seed}: acknowledged but not in the journal`).toEqual([]);
      expect(acked.length).toBeGreaterThanOrEqual(400);
    } finally {
      db.close();
    }
  });
});
