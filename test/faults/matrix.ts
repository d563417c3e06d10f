/**
 * The daemon's fault matrix: for each remote step × each fault, one export
 * (with a document) goes through a daemon that talks to the simulator
 * through a fault proxy; the fault is injected at the exact server-side
 * event of that step (the servers' gate). Judged on the platform's own
 * record (the broadcasts it created, read from its state), not on file
 * names: every export exactly once, none failed, within a bound.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { silentLogger } from '../../src/transport/logger.js';
import type { GatePoint } from '../../src/simulator/sftp-server.js';
import { Simulator } from '../../src/simulator/simulator.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { broadcastsWith as recorded } from '../helpers/platform-record.js';

export const STEPS = [
  'document upload',
  'document rename',
  'documents taken',
  'trigger upload',
  'trigger rename',
  'outcome poll',
  'report download',
  'ack upload',
] as const;
export const FAULTS = ['cut before', 'cut after', 'outage', 'black hole'] as const;
export type Step = (typeof STEPS)[number];
export type Fault = (typeof FAULTS)[number];

/** Longer than the whole retry budget of the daemon's config below (2 attempts, ≤ 0.1 s apart, 1 s connect). */
const OUTAGE_MS = 2500;
/** Longer than timeouts.idle (1 s): the client must give up on its own. */
const BLACK_HOLE_MS = 2500;
/** No case may take longer (the daemon's backoff after two failed passes is 1 + 2 s). */
export const CASE_BOUND_MS = 45_000;

const DOC = 'FAULTDOC.pdf';
/** The document's temporary name, whatever its attempt's tag (`FAULTDOC.pdf.<tag>.uploading`). */
const DOC_TEMP = /\/in\/FAULTDOC\.pdf\.[^/]+\.uploading$/;

/** Does this server event belong to the step? `progress` holds what already happened in this case. */
function matches(step: Step, p: GatePoint, progress: { docRenamed: boolean; triggerRenamed: boolean }): boolean {
  const trigger = /\/in\/fault-[^/]*\.csv\.[^/]+\.uploading$/.test(p.path);
  switch (step) {
    case 'document upload':
      return p.op === 'write' && DOC_TEMP.test(p.path);
    case 'document rename':
      return p.op === 'rename' && DOC_TEMP.test(p.path);
    case 'documents taken':
      return p.op === 'list' && /\/in\/?$/.test(p.path) && progress.docRenamed && !progress.triggerRenamed;
    case 'trigger upload':
      return p.op === 'write' && trigger;
    case 'trigger rename':
      return p.op === 'rename' && trigger;
    case 'outcome poll':
      return p.op === 'list' && /\/in\/processed\/?$/.test(p.path) && progress.triggerRenamed;
    case 'report download':
      return p.op === 'read' && /\/out\/CRA_[^/]+\.csv$/.test(p.path);
    case 'ack upload':
      return p.op === 'write' && /\/out\/ack\/[^/]+\.uploading$/.test(p.path);
  }
}

export class Matrix {
  private sim!: Simulator;
  private root!: string;
  private current: { step: Step; fault: Fault; proxy: FaultProxy; fired: boolean; progress: { docRenamed: boolean; triggerRenamed: boolean } } | undefined;

  constructor(readonly protocol: 'sftp' | 'ftp') {}

  async start(): Promise<void> {
    this.root = mkdtempSync(join(tmpdir(), `dmc-faults-${this.protocol}-`));
    this.sim = new Simulator({
      root: join(this.root, 'sim'),
      accounts: [{ serviceId: '12345678', username: 'dmc', password: 'pw' }],
      ...(this.protocol === 'sftp' ? { sftpPort: 0 } : { ftpPort: 0 }),
      interval: 0.2,
      seed: 'faults',
      autoReports: false,
      archiveAfter: 60,
      gate: (p) => this.gate(p),
    });
    await this.sim.start();
    writeFileSync(
      join(this.root, 'cmd.yaml'),
      'serviceId: "12345678"\nspaceId: 1\nbroadcastName: "Faults {file}"\nscenarioId: 40\ncallPlanningId: 41\nmessages:\n  - customizableId: 10\n    multimediaType: TXT\n    text: Bonjour\n',
    );
    writeFileSync(join(this.root, DOC), '%PDF-1.4\n% a document for the fault matrix\n%%EOF\n');
  }

  async stop(): Promise<void> {
    await this.sim.stop();
    rmSync(this.root, { recursive: true, force: true });
  }

  private gate(p: GatePoint): 'abort' | void {
    const c = this.current;
    if (!c) return;
    if (p.phase === 'after' && p.op === 'rename' && DOC_TEMP.test(p.path)) c.progress.docRenamed = true;
    const isTriggerRename = p.phase === 'after' && p.op === 'rename' && /\/in\/fault-[^/]*\.csv\.[^/]+\.uploading$/.test(p.path);
    if (c.fired || !matches(c.step, p, c.progress)) {
      if (isTriggerRename) c.progress.triggerRenamed = true;
      return;
    }
    const wanted = c.fault === 'cut before' ? 'before' : 'after';
    if (p.phase !== wanted) return;
    c.fired = true;
    if (isTriggerRename) c.progress.triggerRenamed = true;
    switch (c.fault) {
      case 'cut before':
        c.proxy.cut();
        return 'abort';
      case 'cut after':
        c.proxy.cut();
        return;
      case 'outage':
        c.proxy.refuseFor(OUTAGE_MS);
        return;
      case 'black hole':
        c.proxy.blackHole(BLACK_HOLE_MS);
        return;
    }
  }

  /** How many broadcasts the platform created holding the contact `ref` (its own record, across reports). */
  broadcastsWith(ref: string): number {
    return recorded(join(this.root, 'sim'), ref);
  }

  /** Runs one case; returns what it observed for the note. */
  async run(step: Step, fault: Fault, index: number): Promise<{ fired: boolean; ms: number }> {
    const target = this.protocol === 'sftp' ? this.sim.sftp! : this.sim.ftp!;
    const proxy = new FaultProxy({ host: '127.0.0.1', port: target.port });
    await proxy.start();
    const dir = join(this.root, `case-${index}`);
    mkdirSync(join(dir, 'drop'), { recursive: true });
    const transport =
      this.protocol === 'sftp'
        ? `{protocol: sftp, host: 127.0.0.1, port: ${proxy.port}, username: dmc, password: pw, hostKey: "${this.sim.fingerprint}"}`
        : `{protocol: ftp, host: 127.0.0.1, port: ${proxy.port}, username: dmc, password: pw}`;
    const yaml = [
      'service: {serviceId: "12345678"}',
      `transport: ${transport}`,
      'timeouts: {connect: 1, idle: 1, transfer: 2, documentsTaken: 15, outcome: 30, poll: 0.1}',
      'retries: {attempts: 1, minDelay: 0.05, maxDelay: 0.1}',
      `reports: {dir: ${join(dir, 'reports')}}`,
      'daemon:',
      `  journal: ${join(dir, 'journal.db')}`,
      '  stableSeconds: 0.2',
      '  rescanSeconds: 1',
      '  reportsEvery: 1',
      '  dropFolders:',
      `    - {path: ${join(dir, 'drop')}, command: ${join(this.root, 'cmd.yaml')}, documents: [${join(this.root, DOC)}]}`,
    ].join('\n');
    const config = await parseConfig(yaml, join(dir, 'dmc.yaml'));
    const tag = `F${this.protocol}${index}`;
    const reportCase = step === 'report download' || step === 'ack upload';
    const started = Date.now();
    const daemon = new Daemon(config, silentLogger);
    // Report cases: the export goes through first, with no fault; the report is then written and collected under fault.
    this.current = { step, fault, proxy, fired: reportCase ? true : false, progress: { docRenamed: false, triggerRenamed: false } };
    await daemon.start();
    try {
      writeFileSync(join(dir, 'drop', `fault-${index}.csv`), `Nom;Mobile;Référence\nDupont;0612345678;${tag}-0\nMartin;0612345679;${tag}-1\n`);
      const done = async (): Promise<boolean> => (await daemon.journal.recentInputs(5)).some((r) => r.kind === 'export' && r.settled === 1);
      await until(`${step} × ${fault}: the export settled`, done, CASE_BOUND_MS);
      const row = (await daemon.journal.recentInputs(5)).find((r) => r.kind === 'export')!;
      expect(row.state, `${step} × ${fault}: ${row.last_error ?? ''}`).toBe('done');
      if (reportCase) {
        await this.sim.report();
        this.current.fired = false;
        const report = (): string | undefined =>
          existsSync(join(dir, 'reports')) ? readdirSync(join(dir, 'reports')).find((f) => /^CRA_.*\.csv$/.test(f)) : undefined;
        await until(
          `${step} × ${fault}: the report collected and acked`,
          async () => {
            const name = report();
            return name !== undefined && (await daemon.journal.report(name))?.state === 'acked';
          },
          CASE_BOUND_MS,
        );
        // Downloaded once: no earlier copy kept aside, and the platform deleted it on the ack.
        expect(readdirSync(join(dir, 'reports')).filter((f) => f.endsWith('.previous'))).toEqual([]);
        await until('the platform took the ack', () => !existsSync(join(this.sim.homeOf('dmc'), 'DMC_12345678', 'out', report()!)), 10_000);
      }
      expect(this.current.fired, `${step} × ${fault}: the fault was injected`).toBe(true);
      expect(this.broadcastsWith(`${tag}-0`), `${step} × ${fault}: broadcasts holding the export`).toBe(1);
      return { fired: this.current.fired, ms: Date.now() - started };
    } finally {
      this.current = undefined;
      await daemon.stop();
      await proxy.close();
    }
  }
}

async function until(what: string, cond: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out (${ms / 1000} s) waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
