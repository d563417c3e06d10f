/**
 * Issue #20's fault test 1: an active/standby pair (test/helpers/pair.ts)
 * whose leader is SIGKILLed right after each of the ten journal transitions
 * of the single-host kill-at-transition test, one after the other, while
 * exports keep coming. The standby takes over and finishes each time; the
 * killed node comes back as standby and is the next leader to be killed.
 *
 * Both nodes watch the same drop folder by polling (`usePolling`), the
 * layout of a pair whose drop folders sit on an NFS or SMB share.
 *
 * Each node is the library's daemon (test/faults/daemon-child.mjs) reading
 * a kill plan: the test arms one transition at a time, once a leader is in
 * place, and the leader dies at its nth commit of it. Judged on the
 * platform's records (every export created exactly once), the hook
 * deliveries (each export's `sent` at least once), the journal (every input
 * done, `journal check` clean, fencing included) and the server's temporary
 * files. Seeded: DMC_PAIR_SEED replays the occurrences.
 */
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Journal } from '../../src/store/journal.js';
import { Pair, until } from '../helpers/pair.js';
import { pgUrl } from '../helpers/pg-env.js';
import { rng } from '../helpers/random.js';

const PG = pgUrl(import.meta.url);
const seed = Number(process.env['DMC_PAIR_SEED'] ?? Date.now() % 100_000);
/** The transitions of test/faults/kill-at-transition.test.ts, in the order an export meets them. */
const TRANSITIONS = [
  'input:new->seen',
  'input:seen->working',
  'input:working->built',
  'trigger:built->uploading',
  'trigger:uploading->renaming',
  'trigger:renaming->uploaded',
  'input:built->sent',
  'input:working->done',
  'trigger:uploaded->processed',
  'input:sent->done',
] as const;
/** Exports per stage: one trigger file naming a document dropped with it, and plain exports. */
const STAGE = 10;

describe.skipIf(!PG)('an active/standby pair, its leader SIGKILLed at each journal transition (issue #20)', () => {
  let pair: Pair | undefined;
  afterEach(async () => {
    await pair?.stop();
    pair = undefined;
  }, 60_000);

  it('each time the standby takes over and finishes; every export once, every hook delivered, the journal consistent', async () => {
    const random = rng(seed);
    // The document of a stage is the only input that goes working -> done: its first occurrence.
    const plan = TRANSITIONS.map((transition, id) => ({ id, transition, nth: transition === 'input:working->done' ? 1 : 1 + Math.floor(random() * 3) }));
    console.info(`pair kill test: seed ${seed} (DMC_PAIR_SEED=${seed} replays it): ${plan.map((k) => `${k.transition} #${k.nth}`).join(', ')}`);
    const p = (pair = new Pair({ label: 'kill', pgUrl: PG!, polling: true }));
    await p.start();
    const planFile = join(p.root, 'kill-plan.json');
    const arm = (what: object): void => {
      writeFileSync(`${planFile}.tmp`, JSON.stringify(what));
      renameSync(`${planFile}.tmp`, planFile);
    };
    arm({});
    const exits = new Map<string, Promise<string | null>>();
    const start = (name: string): void => {
      const child = p.startNode(name, {}, planFile);
      exits.set(name, new Promise((r) => child.once('exit', (code, signal) => r(signal ?? String(code)))));
    };
    let dropped = 0;
    const dropStage = (): void => {
      const first = dropped;
      writeFileSync(join(p.drop, `NOTICE-${first}.pdf`), '%PDF-1.4\n%%EOF\n');
      writeFileSync(
        join(p.drop, `f-${first}.csv`),
        [
          '#COMMAND',
          'serviceId:12345678',
          'spaceId:1',
          `broadcastName:Kill ${first}`,
          'scenarioId:40',
          'callPlanningId:41',
          'customizableId:10',
          'multimediaType:PDF',
          `fileName:NOTICE-${first}.pdf`,
          '#CONTACTS',
          'NAME;FAXNUMBER;EXTERNALREFERENCE',
          `Dupont;0140000000;PK${first}-0`,
          '#END',
          '',
        ].join('\n'),
        'latin1',
      );
      for (let i = first + 1; i < first + STAGE; i++)
        writeFileSync(join(p.drop, `f-${i}.csv`), `Nom;Mobile;Référence\nDupont;0612345678;PK${i}-0\nMartin;0612345679;PK${i}-1\n`);
      dropped += STAGE;
    };

    start('a');
    await until('node a leads', async () => (await p.leader()) === 'a', 20_000);
    start('b');
    const killed: string[] = [];
    for (const k of plan) {
      const leader = (await p.leader())!;
      arm(k);
      // Work for the leader until it dies at the armed transition (a stage more when this one ran out before the nth).
      const died = exits.get(leader)!;
      let how: string | null | undefined;
      for (let stages = 0; how === undefined && stages < 4; stages++) {
        dropStage();
        how = await Promise.race([died, new Promise<undefined>((r) => setTimeout(() => r(undefined), 20_000))]);
      }
      expect(how, `leader ${leader} killed at ${k.transition} #${k.nth}\n${p.logsText()}`).toBe('SIGKILL');
      expect(readFileSync(`${planFile}.killed-${k.id}`, 'utf8').trim()).toBe(leader);
      arm({});
      killed.push(`${leader}@${k.transition}`);
      const other = leader === 'a' ? 'b' : 'a';
      await until(`node ${other} takes over from ${leader} killed at ${k.transition}`, async () => (await p.leader()) === other, 20_000);
      start(leader);
    }
    expect(killed).toHaveLength(TRANSITIONS.length);
    expect(dropped).toBeGreaterThanOrEqual(100);

    await until(`all ${dropped} exports sent`, () => p.sent() === dropped, 120_000);
    await until(
      'every input settled',
      async () => {
        const j = await Journal.open(PG!, 'readonly', { schema: p.schema });
        try {
          const rows = await j.recentInputs(10_000);
          return rows.length === dropped + dropped / STAGE && rows.every((r) => r.settled === 1);
        } finally {
          await j.close();
        }
      },
      60_000,
    );
    await until('every sent hook delivered', () => p.hooksMissing(dropped).length === 0, 30_000);
    const j = await Journal.open(PG!, 'readonly', { schema: p.schema });
    try {
      expect((await j.recentInputs(10_000)).filter((r) => r.state !== 'done').map((r) => `${r.name}: ${r.state} ${r.last_error ?? ''}`)).toEqual([]);
    } finally {
      await j.close();
    }
    expect(p.notOnce(dropped, 'PK')).toEqual([]);
    expect(p.leftTemporaries()).toEqual([]);
    expect(p.sharedTemporaries()).toEqual([]);
    expect(await p.journalErrors()).toEqual([]);
    expect(existsSync(join(p.drop, 'failed')) ? readdirSync(join(p.drop, 'failed')) : [], p.logsText()).toEqual([]);
  }, 600_000);
});
