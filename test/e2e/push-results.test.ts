/**
 * Push statuses end to end: the simulator pushes every contact's statuses
 * (guide §2.9) to the daemon's receiver; the daemon links them to the
 * exports that caused them and writes each export's results file. Each
 * results file is checked row by row against what the simulator recorded
 * as the truth (its drawn results), for CSV exports in each supported
 * encoding and separator, matched by reference and by address.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Daemon } from '../../src/daemon/daemon.js';
import { SUCCESS_CODES } from '../../src/formats/cra.js';
import { smsCommand, startSimDaemon, type SimDaemon } from '../helpers/sim-daemon.js';

interface Truth {
  broadcastId: number;
  address: string;
  code: string;
  externalReference: string;
}

/** Four exports of the usual shapes; phone numbers unique to each (the address links a broadcast to one trigger). */
const EXPORTS = [
  { name: 'refs-utf8.csv', encoding: 'utf8', sep: ';', eol: '\n', bom: false, ref: true, base: 10 },
  { name: 'cp1252-comma.csv', encoding: 'windows-1252', sep: ',', eol: '\r\n', bom: false, ref: false, base: 20 },
  { name: 'latin9-tab.tsv', encoding: 'iso-8859-15', sep: '\t', eol: '\n', bom: false, ref: false, base: 30 },
  { name: 'bom-quoted.csv', encoding: 'utf8', sep: ';', eol: '\r\n', bom: true, ref: false, base: 40 },
] as const;
const ROWS = 25;

function exportBytes(e: (typeof EXPORTS)[number]): Buffer {
  const header = ['Nom', 'Prénom', 'Mobile', ...(e.ref ? ['Référence'] : []), 'Note'];
  const rows = Array.from({ length: ROWS }, (_, i) => {
    const note = e.bom ? `"prix; ${i} €"` : e.encoding === 'iso-8859-15' ? `${i} €` : `n°${i}`;
    return [`Nom${i}`, i % 2 ? 'Zoé' : 'Jérôme', `06 ${e.base} 00 ${String(i).padStart(2, '0')} 00`, ...(e.ref ? [`REF-${e.base}-${i}`] : []), note].join(
      e.sep,
    );
  });
  const text = [header.join(e.sep), ...rows].join(e.eol) + e.eol;
  const body = e.encoding === 'utf8' ? Buffer.from(text, 'utf8') : iconv.encode(text, e.encoding);
  return e.bom ? Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), body]) : body;
}

describe('push statuses joined back to each export', () => {
  let t: SimDaemon;
  let root: string;
  let daemon: Daemon;
  const finals = new Set<string>();
  const failed: string[] = [];
  const folderOf = (e: (typeof EXPORTS)[number]): string => join(root, 'drop', e.ref ? 'refs' : 'plain');

  beforeAll(async () => {
    t = await startSimDaemon({
      seed: 'push-results',
      spaceId: '521',
      commands: { 'cmd.yaml': smsCommand('Push {file}', '521') },
      sections: ['push: {listen: "127.0.0.1:0", path: /dmc/status}'],
      daemon: (dir) => [`hooks: [{on: [status], command: "cat >> '${join(dir, 'status-events.jsonl')}'; echo >> '${join(dir, 'status-events.jsonl')}'"}]`],
      folders: ['{path: drop/refs, command: cmd.yaml, map: {EXTERNALREFERENCE: Référence}}', '{path: drop/plain, command: cmd.yaml}'],
      pushBatch: 7,
      events: {
        onEvent: (e) => {
          if (e.type === 'failed' && e.name) failed.push(`${e.name}: ${e.detail ?? ''}`);
          if (e.type === 'results' && e.detail?.endsWith('(final)') && e.name) finals.add(e.name);
        },
      },
    });
    root = t.root;
    daemon = t.daemon;
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('every row of every export gets the status the platform gave its contact', { timeout: 120_000 }, async () => {
    for (const e of EXPORTS) writeFileSync(join(folderOf(e), e.name), exportBytes(e));
    const end = Date.now() + 90_000;
    while (finals.size < EXPORTS.length) {
      expect(failed).toEqual([]);
      if (Date.now() > end) throw new Error(`results final for ${[...finals].join(', ') || 'none'} only, after 90 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const truthText = readFileSync(join(root, 'sim', 'accounts', 'dmc', 'state', 'pending.jsonl'), 'utf8');
    const truth = truthText
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Truth);
    const byAddress = new Map(truth.map((t) => [t.address, t]));
    for (const e of EXPORTS) {
      const file = join(folderOf(e), 'results', `${e.name}.results.csv`);
      expect(existsSync(file), file).toBe(true);
      let bytes = readFileSync(file);
      if (e.bom) {
        expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
        bytes = bytes.subarray(3);
      }
      const text = e.encoding === 'utf8' ? bytes.toString('utf8') : iconv.decode(bytes, e.encoding);
      // The export's own encoding: its accents (and the €) read back as written.
      expect(text).toContain('Jérôme');
      if (e.encoding === 'iso-8859-15') expect(text).toContain('€');
      const lines = text.split(e.eol).filter((l) => l !== '');
      expect(lines).toHaveLength(ROWS + 1);
      const header = lines[0]!.split(e.sep);
      expect(header.slice(-6)).toEqual(['dmc_status', 'dmc_code', 'dmc_label', 'dmc_date', 'dmc_medium', 'dmc_broadcast']);
      for (const [i, line] of lines.slice(1).entries()) {
        const fields = e.bom ? line.replace(/"prix; \d+ €"/, 'QUOTED').split(e.sep) : line.split(e.sep);
        expect(fields, `${e.name} row ${i + 1}`).toHaveLength(header.length);
        const [status, code, , , medium, broadcast] = fields.slice(-6);
        const t = byAddress.get(`+336${e.base}00${String(i).padStart(2, '0')}00`);
        expect(t, `${e.name} row ${i + 1}: the simulator has no result for it`).toBeDefined();
        expect(status, `${e.name} row ${i + 1}`).toBe(SUCCESS_CODES.has(t!.code) ? 'delivered' : 'failed');
        expect(code, `${e.name} row ${i + 1}`).toBe(t!.code);
        expect(medium).toBe('sms');
        expect(broadcast).toBe(String(t!.broadcastId));
        if (e.ref) expect(t!.externalReference).toBe(`REF-${e.base}-${i}`);
      }
      const summary = JSON.parse(readFileSync(join(folderOf(e), 'results', `${e.name}.summary.json`), 'utf8')) as {
        rows: number;
        byStatus: Record<string, number>;
        unmatched: number;
        matchedBy: string;
        final: boolean;
      };
      expect(summary.rows).toBe(ROWS);
      expect(summary.unmatched).toBe(0);
      expect(summary.final).toBe(true);
      expect(summary.matchedBy).toBe(e.ref ? 'reference' : 'address');
      expect(summary.byStatus['delivered']! + summary.byStatus['failed']!).toBe(ROWS);
    }
    // Some contacts failed (the simulator's mix), so both kinds were checked.
    expect(truth.some((t) => !SUCCESS_CODES.has(t.code))).toBe(true);
    // Each status reached the journal once, however many times it was posted.
    const n = ((await daemon.journal.sql.get('SELECT COUNT(*) n FROM push_statuses')) as { n: number }).n;
    const expected = truth.reduce((s, t) => s + (SUCCESS_CODES.has(t.code) ? 2 : 1), 0);
    expect(n).toBe(expected);
    // The status hook got the statuses, batched, linked to their inputs.
    const events = readFileSync(join(root, 'status-events.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as { event: string; count: number; links: { input: { name: string } }[] });
    expect(events.every((ev) => ev.event === 'status')).toBe(true);
    expect(events.reduce((s, ev) => s + ev.count, 0)).toBeGreaterThanOrEqual(truth.length);
    expect(new Set(events.flatMap((ev) => ev.links.map((l) => l.input.name)))).toEqual(new Set(EXPORTS.map((e) => e.name)));

    // `results`: by name and by number; its JSON has the keys docs/cli.md shows.
    const { runResults } = await import('../../src/cli/push-command.js');
    const io = (into: string[]) => ({ out: (l: string) => into.push(l), err: () => undefined, isTTY: false });
    const text: string[] = [];
    await runResults('refs-utf8.csv', { config: t.configPath }, io(text));
    expect(text[0]).toMatch(/^#\d+ refs-utf8\.csv: 25 row\(s\) — \d+ delivered, \d+ failed, 0 pending \(final\)$/);
    const json: string[] = [];
    await runResults('1', { config: t.configPath, json: true }, io(json));
    const repo = new URL('../../', import.meta.url).pathname;
    const doc = /<!-- results-json -->\s*```json\n([\s\S]*?)```/.exec(readFileSync(join(repo, 'docs/cli.md'), 'utf8'))![1]!;
    expect(Object.keys(JSON.parse(json[0]!) as object).sort()).toEqual(Object.keys(JSON.parse(doc) as object).sort());
    await expect(runResults('nope.csv', { config: t.configPath }, io([]))).rejects.toThrow(/no input named 'nope.csv' in the journal/);
  });
});
