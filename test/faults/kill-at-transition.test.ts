/**
 * SIGKILL at every journal transition: a daemon (child process) kills
 * itself right after the named transition is committed, before it acts on
 * it; a new daemon resumes. Every export is broadcast exactly once (the
 * platform's own record), none is lost or failed, and every hook event is
 * delivered at least once (the outbox). Which occurrence of the transition
 * is hit is drawn from a seed (DMC_FAULT_SEED), printed in the test names,
 * so a failure can be replayed.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Journal } from '../../src/store/journal.js';
import { Simulator } from '../../src/simulator/simulator.js';
import { broadcastsWith as recorded } from '../helpers/platform-record.js';
import { rng } from '../helpers/random.js';

const SEED = Number(process.env['DMC_FAULT_SEED'] ?? 20261128);
const EXPORTS = 3;
/** Every transition an export (with a dropped document) goes through, and how many times it occurs with EXPORTS exports. */
const TRANSITIONS: [string, number][] = [
  ['input:new->seen', EXPORTS + 1],
  ['input:seen->working', EXPORTS + 1],
  ['input:working->built', EXPORTS],
  ['trigger:built->uploading', EXPORTS],
  ['trigger:uploading->renaming', EXPORTS],
  ['trigger:renaming->uploaded', EXPORTS],
  ['input:built->sent', EXPORTS],
  ['input:working->done', 1],
  ['trigger:uploaded->processed', EXPORTS],
  ['input:sent->done', EXPORTS],
];

const repo = new URL('../../', import.meta.url).pathname;
const child = join(repo, 'test/faults/daemon-child.mjs');

describe(`SIGKILL at each journal transition (seed ${SEED})`, () => {
  let root: string;
  let sim: Simulator;
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'dmc-kill-'));
    sim = new Simulator({
      root: join(root, 'sim'),
      accounts: [{ serviceId: '12345678', username: 'dmc', password: 'pw' }],
      sftpPort: 0,
      interval: 0.2,
      seed: 'kill',
      autoReports: false,
      archiveAfter: 60,
    });
    await sim.start();
    writeFileSync(
      join(root, 'cmd.yaml'),
      'serviceId: "12345678"\nspaceId: 1\nbroadcastName: "Kill {file}"\nscenarioId: 40\ncallPlanningId: 41\nmessages:\n  - customizableId: 10\n    multimediaType: TXT\n    text: Bonjour\n',
    );
  });
  afterAll(async () => {
    await sim.stop();
    rmSync(root, { recursive: true, force: true });
  });

  const broadcastsWith = (ref: string): number => recorded(join(root, 'sim'), ref);

  const random = rng(SEED);
  TRANSITIONS.forEach(([transition, occurrences], index) => {
    const nth = 1 + Math.floor(random() * occurrences);
    it(`killed after ${transition} (occurrence ${nth} of ${occurrences}): resumed, each export once, hooks delivered`, async () => {
      const dir = join(root, `case-${index}`);
      mkdirSync(join(dir, 'drop'), { recursive: true });
      const hookLog = join(dir, 'hooks.jsonl');
      const configPath = join(dir, 'dmc.yaml');
      writeFileSync(
        configPath,
        [
          'service: {serviceId: "12345678"}',
          `transport: {protocol: sftp, host: 127.0.0.1, port: ${sim.sftp!.port}, username: dmc, password: pw, hostKey: "${sim.fingerprint}"}`,
          'timeouts: {connect: 2, idle: 2, transfer: 5, documentsTaken: 15, outcome: 30, poll: 0.1}',
          'retries: {attempts: 2, minDelay: 0.05, maxDelay: 0.1}',
          `reports: {dir: ${join(dir, 'reports')}}`,
          'daemon:',
          `  journal: ${join(dir, 'journal.db')}`,
          '  stableSeconds: 0.2',
          '  rescanSeconds: 1',
          '  hooks:',
          `    - {on: [sent, processed, failed], command: "cat >> ${hookLog}; echo >> ${hookLog}"}`,
          '  dropFolders:',
          `    - {path: ${join(dir, 'drop')}, command: ${join(root, 'cmd.yaml')}}`,
        ].join('\n'),
      );
      // A trigger naming a document dropped with it, and plain exports.
      writeFileSync(join(dir, 'drop', 'NOTICE.pdf'), '%PDF-1.4\n%%EOF\n');
      const tags = Array.from({ length: EXPORTS }, (_, k) => `K${index}x${k}`);
      const first = await start(configPath, transition, nth);
      writeFileSync(
        join(dir, 'drop', `kill-${index}-0.csv`),
        [
          '#COMMAND',
          'serviceId:12345678',
          'spaceId:1',
          `broadcastName:Kill ${index}`,
          'scenarioId:40',
          'callPlanningId:41',
          'customizableId:10',
          'multimediaType:PDF',
          'fileName:NOTICE.pdf',
          '#CONTACTS',
          'NAME;FAXNUMBER;EXTERNALREFERENCE',
          `Dupont;0140000000;${tags[0]}-0`,
          '#END',
          '',
        ].join('\n'),
        'latin1',
      );
      for (const [k, tag] of tags.entries())
        if (k > 0) writeFileSync(join(dir, 'drop', `kill-${index}-${k}.csv`), `Nom;Mobile;Référence\nDupont;0612345678;${tag}-0\n`);
      const how = await first.exited;
      expect(how, `the daemon was killed at ${transition}`).toBe('SIGKILL');
      const second = await start(configPath, '-', 0);
      try {
        await until(
          `every input settled after the restart (${transition})`,
          async () => {
            if (!existsSync(join(dir, 'journal.db'))) return false;
            const j = await Journal.open(join(dir, 'journal.db'), 'readonly');
            try {
              return (await j.recentInputs(20)).length === EXPORTS + 1 && (await j.recentInputs(20)).every((r) => r.settled === 1);
            } finally {
              await j.close();
            }
          },
          60_000,
        );
        await until(
          'the hooks delivered',
          () =>
            existsSync(hookLog) &&
            readFileSync(hookLog, 'utf8')
              .split('\n')
              .filter((l) => l.includes('"processed"')).length >= EXPORTS,
          20_000,
        );
      } finally {
        second.process.kill('SIGTERM');
        await second.exited;
      }
      const j = await Journal.open(join(dir, 'journal.db'), 'readonly');
      try {
        for (const r of await j.recentInputs(20)) expect(`${r.name}: ${r.state}`).toBe(`${r.name}: done`);
      } finally {
        await j.close();
      }
      for (const tag of tags) expect(broadcastsWith(`${tag}-0`), `${tag} broadcasts`).toBe(1);
      // At least once: each input's processed event arrived, each with an id (duplicates are allowed and share it).
      const events = readFileSync(hookLog, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { id: string; event: string; input: { name: string } });
      for (let k = 0; k < EXPORTS; k++)
        expect(
          events.some((e) => e.event === 'processed' && e.input.name === `kill-${index}-${k}.csv` && e.id.length > 0),
          `processed hook of kill-${index}-${k}.csv`,
        ).toBe(true);
    }, 120_000);
  });
});

function start(configPath: string, killAt: string, nth: number): Promise<{ process: ReturnType<typeof spawn>; exited: Promise<string | number | null> }> {
  const p = spawn(process.execPath, [child, configPath, killAt, String(nth)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  p.stderr!.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const exited = new Promise<string | number | null>((res) => p.on('exit', (code, signal) => res(signal ?? code)));
  return new Promise((resolve, reject) => {
    p.stdout!.once('data', () => resolve({ process: p, exited }));
    p.once('exit', (code, signal) => reject(new Error(`the daemon exited before it started (${signal ?? code}): ${err}`)));
  });
}

async function until(what: string, cond: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
