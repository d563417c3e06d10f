/**
 * The simulator's pusher retries: a post not answered 200 keeps its
 * statuses queued, and they go at a later pass; nothing is dropped, and
 * the receiver sees a redelivery at worst (it deduplicates).
 */
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parsePushReport } from '../../src/formats/push.js';
import { pushDue, queuePush, type QueuedResult } from '../../src/simulator/pusher.js';

const dir = mkdtempSync(join(tmpdir(), 'dmc-pusher-'));
afterEach(() => rmSync(join(dir, 'push-queue.jsonl'), { force: true }));

const result = (i: number, callAt: number): QueuedResult => ({
  broadcastId: 9,
  contactId: i,
  externalReference: '',
  name: '',
  forename: '',
  code: 'CRA_SMS_RECEIVED',
  label: 'Reçu',
  address: `+3360000000${i}`,
  callDate: '',
  callAt,
  attempts: 1,
});

describe("the simulator's pusher", () => {
  it('keeps what was refused and sends it at the next pass; what is not due yet waits', async () => {
    const answers = [503, 200, 200, 200];
    const got: string[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const status = answers.shift() ?? 200;
        if (status === 200) got.push(...parsePushReport(body).elements.map((e) => e.contactId));
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as { port: number }).port;
      const now = Date.now();
      await queuePush(dir, [1, 2, 3, 4, 5].map((i) => `${JSON.stringify(result(i, i === 5 ? now + 3_600_000 : now - 1000))}\n`).join(''));
      const target = { url: `http://127.0.0.1:${port}/`, batch: 2 };
      const first = await pushDue(dir, '1', '1', target, now);
      expect(first).toMatchObject({ posted: 0, left: 5, error: 'the receiver answered 503' });
      expect(got).toEqual([]);
      const second = await pushDue(dir, '1', '1', target, now);
      expect(second).toMatchObject({ posted: 2, statuses: 8, left: 1 });
      expect(got).toEqual(['1', '2', '3', '4']);
      // The one whose call is an hour away is still queued.
      expect(readFileSync(join(dir, 'push-queue.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1);
      const unreachable = await pushDue(dir, '1', '1', { url: 'http://127.0.0.1:1/' }, now + 7_200_000);
      expect(unreachable.error).toMatch(/^the receiver could not be reached/);
      expect(unreachable.left).toBe(1);
    } finally {
      server.close();
    }
  });
});
