/**
 * The daemon: drop folders → journal → build → send (exactly once) →
 * outcome → sent/ or failed/, and the daily reports. One worker processes
 * the journal's actionable rows in order; the watcher only adds rows. On
 * start, every unfinished row resumes from its state:
 *
 * - `seen`: the file is moved from the drop folder to `work/` (path fixed in
 *   the row before the move; found at either place after a crash);
 * - `working`: the trigger file(s) are built again (atomic output);
 * - trigger `uploading`: the rename was never sent (the row would say
 *   `renaming`): upload again from scratch;
 * - trigger `renaming`: the temp name still there means the rename did not
 *   happen (redo it); gone means it did, even if the platform has already
 *   archived the file: never sent twice;
 * - `sent`: the outcome is looked for again; `done`/`failed`: the local files
 *   are moved where they belong (idempotent).
 */
import { copyFile, mkdir, open, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DropFolderConfig, ResolvedConfig } from '../config/config.js';
import { buildTriggerFiles } from '../files/build.js';
import { convertTriggerFile } from '../files/convert.js';
import { validateTriggerFile } from '../files/read-trigger.js';
import { parseCommandFile } from '../formats/command-file.js';
import type { ContactColumn } from '../formats/contacts.js';
import { FindingList, TriggerFormatError, type Finding } from '../formats/findings.js';
import type { TriggerCommand } from '../formats/model.js';
import { createTransport } from '../transport/connect.js';
import { fileHash, resolveRemoteRoot, sendTrigger, trackOutcome, uniqueRemoteName, UPLOADING_SUFFIX } from '../transport/handshake.js';
import type { Logger } from '../transport/logger.js';
import { fetchReports } from '../transport/reports.js';
import { readCra } from '../formats/cra.js';
import { openTriggerFile, readTriggerHead } from '../files/read-trigger.js';
import { referencedDocuments } from '../files/documents.js';
import { createReadStream } from 'node:fs';
import { Session } from '../transport/session.js';
import { remoteJoin, TransportError } from '../transport/transport.js';
import { Journal, type InputRow, type TriggerRow } from './journal.js';
import { DropWatcher } from './watcher.js';
import { Hooks, type HookEventType } from './hooks.js';
import { errorFileText } from './error-file.js';

export interface DaemonEvents {
  /** An input reached a final state, or a step failed and will be retried. */
  onEvent?: (e: { type: 'taken' | 'duplicate' | 'built' | 'sent' | 'outcome' | 'failed' | 'report' | 'retry'; input?: number; name?: string; detail?: string }) => void;
}

/** Documents dropped with a trigger (guide line 9040): they wait in work/ for the trigger that names them. */
const DOCUMENT_FILE = /\.(wav|pdf|html?|jpe?g|gif|3gp)$/i;
/** A dropped document no trigger named within this time fails. */
const DOCUMENT_WAIT_MS = 3_600_000;

const dirs = (folder: string) => ({ work: join(folder, 'work'), sent: join(folder, 'sent'), failed: join(folder, 'failed') });
const parisNow = (d: Date): { date: string; time: string } => {
  const f = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Europe/Paris', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(d);
  const [date = '', time = ''] = f.split(' ');
  return { date, time };
};

async function moveIfThere(from: string, to: string): Promise<boolean> {
  try { await rename(from, to); return true; } catch (e) { if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false; throw e; }
}

export class Daemon {
  readonly journal: Journal;
  private readonly watchers: DropWatcher[] = [];
  private session: Session | undefined;
  private remoteRoot: string | undefined;
  private wake: (() => void) | undefined;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private lastUpload = 0;
  private lastReportDay = '';
  private timers: NodeJS.Timeout[] = [];
  private readonly hooks: Hooks;

  constructor(private readonly config: ResolvedConfig, private readonly logger: Logger, private readonly events: DaemonEvents = {}) {
    if (!config.daemon) throw new Error('no daemon section in the configuration');
    this.journal = new Journal(config.daemon.journal);
    this.hooks = new Hooks(config.daemon.hooks, logger);
  }

  /** Runs the hooks of an input event. */
  private hook(event: HookEventType, row: InputRow, detail?: string): void {
    this.hooks.emit({
      event, at: new Date().toISOString(),
      input: { id: row.id, folder: row.folder, name: row.name },
      triggers: this.journal.triggersOf(row.id).map((t) => ({ remoteName: t.remote_name, contacts: t.contacts, state: t.state })),
      ...(detail ? { detail } : {}),
    });
  }

  private get d() { return this.config.daemon!; }
  private folderOf(path: string): DropFolderConfig | undefined { return this.d.dropFolders.find((f) => f.path === path); }

  async start(): Promise<void> {
    for (const f of this.d.dropFolders) for (const dir of [f.path, ...Object.values(dirs(f.path))]) await mkdir(dir, { recursive: true });
    for (const f of this.d.dropFolders) {
      const w = new DropWatcher({
        folder: f.path, stableMs: this.d.stableSeconds * 1000, rescanMs: this.d.rescanSeconds * 1000, doneMarker: f.doneMarker, usePolling: this.d.usePolling,
        onReady: (p) => { void this.take(f, p).catch((e: Error) => this.logger.error({ file: p, err: e.message }, 'cannot take the file')); },
      });
      await w.start();
      this.watchers.push(w);
    }
    this.loop = this.run();
    const reportTimer = setInterval(() => { void this.reportsIfTime(); }, 30_000);
    reportTimer.unref();
    this.timers.push(reportTimer);
    if (this.d.reportsEvery !== undefined) {
      const every = setInterval(() => { if (!this.stopping) void this.collectReports().catch((e: Error) => this.logger.warn({ err: e.message }, 'report collection failed; next time')); }, this.d.reportsEvery * 1000);
      every.unref();
      this.timers.push(every);
    }
    this.logger.info({ folders: this.d.dropFolders.map((f) => f.path), journal: this.journal.path }, 'daemon started');
  }

  /** Stops taking files, lets the current step finish (bounded by the transfer timeout), closes the journal. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    for (const w of this.watchers) await w.close();
    this.wake?.();
    await this.loop;
    await this.hooks.drain();
    await this.session?.close();
    this.journal.close();
    this.logger.info('daemon stopped');
  }

  /** A complete file in a drop folder: journal it (duplicate or not), then move it to work/. */
  async take(folder: DropFolderConfig, path: string): Promise<void> {
    const st = await stat(path);
    const hash = await fileHash(path);
    const name = basename(path);
    const kind = await this.kindOf(path);
    const earlier = kind === 'document' || folder.allowDuplicates || this.journal.takeResend(folder.path, hash) ? undefined : this.journal.findByHash(folder.path, hash);
    if (earlier) {
      const row = this.journal.addInput({ folder: folder.path, name, hash, size: st.size, kind, workDir: dirs(folder.path).work, state: 'duplicate', duplicateOf: earlier.id });
      await this.failFile(folder, row, `same content as ${earlier.name} (input #${earlier.id}, ${earlier.state}), taken ${earlier.created_at}: not sent twice. To send it again, set allowDuplicates: true for this folder.`, path);
      this.events.onEvent?.({ type: 'duplicate', input: row.id, name });
      return;
    }
    const row = this.journal.addInput({ folder: folder.path, name, hash, size: st.size, kind, workDir: dirs(folder.path).work });
    await this.moveToWork(folder, row);
    this.events.onEvent?.({ type: 'taken', input: row.id, name });
    this.wake?.();
  }

  private async kindOf(path: string): Promise<'export' | 'trigger' | 'document'> {
    if (/\.xml$/i.test(path)) return 'trigger';
    if (DOCUMENT_FILE.test(path)) return 'document';
    // The first bytes tell a complete trigger (#COMMAND) from an export: never read the whole file for that.
    const fh = await open(path, 'r');
    try {
      const b = Buffer.alloc(64);
      const { bytesRead } = await fh.read(b, 0, 64, 0);
      return b.subarray(0, bytesRead).toString('latin1').replace(/^\xEF\xBB\xBF/, '').trimStart().toUpperCase().startsWith('#COMMAND') ? 'trigger' : 'export';
    } finally {
      await fh.close();
    }
  }

  private async moveToWork(folder: DropFolderConfig, row: InputRow): Promise<void> {
    const src = join(folder.path, row.name);
    const moved = await moveIfThere(src, row.work_path);
    if (!moved && !(await stat(row.work_path).then(() => true, () => false))) {
      this.journal.setInput(row.id, 'failed', 'the file vanished from the drop folder before it was taken');
      return;
    }
    await moveIfThere(`${src.replace(/\.[^.]+$/, '')}.command.yaml`, `${row.work_path}.command.yaml`);
    await moveIfThere(`${src}.done`, `${row.work_path}.done`);
    this.watchers.find((w) => w.folder === folder.path)?.forget(src);
    this.journal.setInput(row.id, 'working');
  }

  /** The worker: everything actionable, in order, until stopped. */
  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      let progressed = false;
      try {
        progressed = await this.pass();
        failures = 0;
      } catch (e) {
        failures++;
        this.logger.warn({ err: (e as Error).message, failures }, 'pass failed; retrying later');
        this.events.onEvent?.({ type: 'retry', detail: (e as Error).message });
        await this.session?.reset();
        this.remoteRoot = undefined;
      }
      if (this.stopping) break;
      if (!progressed) {
        // After failures (server down, network cut): exponential backoff up to a minute.
        const wait = failures > 0 ? Math.min(60_000, 1000 * 2 ** Math.min(failures - 1, 6)) : Math.max(1000, this.config.timeouts.poll * 1000);
        await new Promise<void>((res) => {
          const t = setTimeout(res, wait);
          t.unref();
          this.wake = () => { clearTimeout(t); res(); };
        });
        this.wake = undefined;
      }
    }
  }

  /** One pass; true when something moved on. */
  private async pass(): Promise<boolean> {
    let progressed = false;
    for (const row of this.journal.inputsIn('seen')) { const f = this.folderOf(row.folder); if (f) { await this.moveToWork(f, row); progressed = true; } }
    for (const row of this.journal.inputsIn('duplicate')) {
      const f = this.folderOf(row.folder);
      if (f && await stat(join(f.path, row.name)).then(() => true, () => false)) await this.failFile(f, row, row.last_error ?? 'duplicate', join(f.path, row.name));
    }
    for (const f of this.d.dropFolders) if (f.group && !this.stopping && await this.buildGroup(f)) progressed = true;
    for (const row of this.journal.inputsIn('working')) {
      if (this.stopping) return progressed;
      if (row.kind === 'document') {
        const f = this.folderOf(row.folder);
        if (f && Date.now() - new Date(row.created_at).getTime() > DOCUMENT_WAIT_MS) {
          await this.failInput(f, row, [{ code: 'E_DOCUMENT_MISSING', severity: 'error', message: `no trigger dropped in this folder named ${row.name} (fileName or fileAttachment) within an hour: drop the trigger with it, or list it in the folder's documents` }]);
          progressed = true;
        }
        continue;
      }
      if (this.folderOf(row.folder)?.group && row.group_leader !== -1 && row.kind === 'export') continue;
      await this.build(row);
      progressed = true;
    }
    const member = (r: InputRow): boolean => r.group_leader !== null && r.group_leader > 0 && r.group_leader !== r.id;
    for (const row of this.journal.inputsIn('built')) { if (this.stopping) return progressed; if (!member(row) && await this.upload(row)) progressed = true; }
    for (const row of this.journal.inputsIn('sent')) { if (this.stopping) return progressed; if (!member(row) && await this.outcome(row)) progressed = true; }
    for (const row of this.journal.inputsIn('built', 'sent')) if (member(row) && await this.followLeader(row)) progressed = true;
    for (const row of this.journal.inputsIn('done', 'failed')) await this.settleFiles(row);
    if (this.lastReportDay === '' && this.config.hasTransport) { await this.collectReports(); this.lastReportDay = parisNow(new Date()).date; }
    return progressed;
  }

  private async command(folder: DropFolderConfig, row: InputRow): Promise<TriggerCommand> {
    const base = parseCommandFile(await readFile(folder.command, 'utf8'), folder.command);
    const sidecar = `${row.work_path}.command.yaml`;
    const over = await readFile(sidecar, 'utf8').then((t) => parseCommandFile(t, sidecar), (e: NodeJS.ErrnoException) => { if (e.code === 'ENOENT') return undefined; throw e; });
    const merged = { ...base, ...(over ?? {}) } as TriggerCommand;
    const { date, time } = parisNow(new Date(row.created_at));
    const file = basename(row.name, extname(row.name));
    // {count} (contacts) is replaced by the builder, once the contacts are counted.
    return { ...merged, broadcastName: merged.broadcastName.replace(/\{date\}/g, date).replace(/\{time\}/g, time).replace(/\{file\}/g, file) };
  }

  private async build(row: InputRow): Promise<void> {
    const folder = this.folderOf(row.folder);
    if (!folder) return;
    const out = `${row.work_path}.trigger.${row.kind === 'trigger' ? extname(row.name).slice(1).toLowerCase() || 'csv' : folder.format}`;
    let parts: { path: string; contacts: number }[];
    let serviceId: string | undefined;
    try {
      if (row.kind === 'trigger') {
        const v = await validateTriggerFile(row.work_path, { documentsDir: dirs(folder.path).work });
        const errors = v.errors.filter((e) => e.code !== 'E_DOCUMENT_MISSING');
        if (errors.length) return await this.failInput(folder, row, errors);
        if (v.warnings.some((w) => w.code === 'W_UNDECLARED_UTF8')) {
          const c = await convertTriggerFile(row.work_path, { to: v.format, out });
          if (!c.ok) return await this.failInput(folder, row, c.findings.filter((f) => f.severity === 'error'));
        } else {
          await copyFile(row.work_path, out);
        }
        parts = [{ path: out, contacts: v.contacts }];
        serviceId = v.command.serviceId;
      } else {
        const cmd = await this.command(folder, row);
        serviceId = cmd.serviceId;
        const r = await buildTriggerFiles(cmd, row.work_path, { out, format: folder.format, ...(folder.split !== undefined ? { split: folder.split } : {}), export: { map: folder.map as Partial<Record<ContactColumn, string>>, name: row.name } });
        if (!r.ok) return await this.failInput(folder, row, r.findings.filter((f) => f.severity === 'error'));
        parts = r.files.map((f) => ({ path: f.path, contacts: f.contacts }));
      }
    } catch (e) {
      if (e instanceof TriggerFormatError) return this.failInput(folder, row, [...e.findings]);
      throw e;
    }
    if (serviceId !== this.config.service.serviceId) return this.failInput(folder, row, [this.otherService(serviceId)]);
    // Remote names fixed now, from the content and the input's time: the same after any restart.
    const created = new Date(row.created_at);
    const named = [];
    const stem = basename(row.name, extname(row.name));
    for (const [k, p] of parts.entries()) {
      const local = `${stem}${parts.length > 1 ? `-${String(k + 1).padStart(3, '0')}` : ''}${extname(p.path)}`;
      named.push({ localPath: p.path, contacts: p.contacts, remoteName: uniqueRemoteName(local, await fileHash(p.path), created), refs: await this.refsOf(p.path) });
    }
    this.journal.addTriggers(row.id, named);
    this.events.onEvent?.({ type: 'built', input: row.id, name: row.name, detail: `${parts.length} file(s)` });
  }

  /**
   * Builds one trigger from the waiting exports of a grouped folder, once the
   * oldest has waited `windowSeconds` (or `maxFiles` wait). The group is
   * formed with the leader's triggers in one transaction; a failed grouped
   * build sends each export through alone, so the bad one is named.
   */
  private async buildGroup(folder: DropFolderConfig): Promise<boolean> {
    const g = folder.group!;
    const rows = this.journal.inputsIn('working').filter((r) => r.folder === folder.path && r.group_leader === null && r.kind === 'export');
    if (rows.length === 0) return false;
    const oldest = new Date(rows[0]!.created_at).getTime();
    if (Date.now() - oldest < g.windowSeconds * 1000 && rows.length < g.maxFiles) return false;
    const members = rows.slice(0, g.maxFiles);
    const leader = members[0]!;
    if (members.length === 1) { this.journal.buildAlone([leader.id]); return true; }
    const cmd = await this.command(folder, leader);
    if (cmd.serviceId !== this.config.service.serviceId) {
      for (const m of members) await this.failInput(folder, m, [this.otherService(cmd.serviceId)]);
      return true;
    }
    const out = `${leader.work_path}.trigger.${folder.format}`;
    const r = await buildTriggerFiles(cmd, members.map((m) => m.work_path), { out, format: folder.format, ...(folder.split !== undefined ? { split: folder.split } : {}), export: { map: folder.map as Partial<Record<ContactColumn, string>> } });
    if (!r.ok) {
      this.logger.warn({ folder: folder.path, members: members.length }, 'grouped build failed; building each export alone');
      this.journal.buildAlone(members.map((m) => m.id));
      return true;
    }
    const stem = `${basename(leader.name, extname(leader.name))}+${members.length - 1}`;
    const created = new Date(leader.created_at);
    const parts = [];
    for (const [k, p] of r.files.entries()) parts.push({ localPath: p.path, contacts: p.contacts, remoteName: uniqueRemoteName(`${stem}${r.files.length > 1 ? `-${String(k + 1).padStart(3, '0')}` : ''}${extname(p.path)}`, await fileHash(p.path), created), refs: await this.refsOf(p.path) });
    this.journal.addGroup(leader.id, members.map((m) => m.id), parts);
    this.events.onEvent?.({ type: 'built', input: leader.id, name: leader.name, detail: `${members.length} exports grouped, ${r.contacts} contacts, ${parts.length} file(s)` });
    return true;
  }

  /** A grouped export follows its leader: sent, then done or failed with it. */
  private async followLeader(row: InputRow): Promise<boolean> {
    const leader = this.journal.input(row.group_leader!);
    if (!leader || leader.state === row.state || !['sent', 'done', 'failed'].includes(leader.state)) return false;
    const folder = this.folderOf(row.folder);
    if (!folder) return false;
    if (leader.state === 'sent') { this.journal.setInput(row.id, 'sent'); return true; }
    if (leader.state === 'done') {
      this.journal.setInput(row.id, 'done');
      await this.settleFiles(this.journal.input(row.id)!);
      this.hook('processed', row, `sent with input #${leader.id} (${leader.name})`);
      return true;
    }
    await this.failInput(folder, row, [{ code: 'E_EXPORT', severity: 'error', message: `sent as one broadcast with input #${leader.id} (${leader.name}), which failed: ${leader.last_error ?? ''}` }]);
    return true;
  }

  /** The EXTERNALREFERENCE values of a built trigger file (to link its broadcast from the reports). */
  private async refsOf(path: string): Promise<string[]> {
    const reading = await openTriggerFile(path, new FindingList(0));
    const i = reading.head.columns.indexOf('EXTERNALREFERENCE');
    const refs: string[] = [];
    for await (const c of reading.contacts) { const v = i >= 0 ? c.values[i]?.trim() : undefined; if (v) refs.push(v); }
    return refs;
  }

  /** A trigger for another service than the configured one: the platform would refuse it. */
  private otherService(serviceId: string | undefined): Finding {
    return { code: 'E_REQUIRED', severity: 'error', message: `serviceId ${serviceId} is not the configured service ${this.config.service.serviceId}`, field: 'serviceId' };
  }

  private async open(): Promise<{ session: Session; root: string }> {
    if (!this.config.hasTransport) throw new TransportError('PROTOCOL', 'the configuration has no transport section: the daemon cannot send');
    this.session ??= new Session(() => createTransport(this.config, this.logger), { retries: this.config.retries, logger: this.logger });
    this.remoteRoot ??= await resolveRemoteRoot(this.session, this.config.service.serviceId, this.config.transport.remoteRoot);
    return { session: this.session, root: this.remoteRoot };
  }

  /** Uploads every trigger of an input not yet uploaded; true when all are. */
  private async upload(row: InputRow): Promise<boolean> {
    const folder = this.folderOf(row.folder);
    if (!folder) return false;
    const { session, root } = await this.open();
    const { documents: dropped, pending } = await this.droppedDocuments(row, folder);
    // A document it names is still in the drop folder, not yet taken: the trigger waits for it.
    if (pending.length) { this.logger.info({ input: row.id, waitingFor: pending }, 'waiting for documents dropped with the trigger'); return false; }
    for (const t of this.journal.triggersOf(row.id)) {
      if (this.stopping) return false;
      if (t.state === 'renaming') { await this.resumeRename(session, root, t); continue; }
      if (t.state !== 'built' && t.state !== 'uploading') continue;
      const wait = this.lastUpload + 1000 / this.d.rate - Date.now();
      if (wait > 0) await sleep(wait);
      this.journal.setTrigger(t.id, 'uploading');
      try {
        await sendTrigger(session, { trigger: t.local_path, remoteName: t.remote_name, documents: [...folder.documents, ...dropped.map((d) => ({ path: d.work_path, name: d.name }))] }, {
          remoteRoot: root, timeouts: this.config.timeouts, logger: this.logger,
          beforeTriggerRename: () => { this.journal.setTrigger(t.id, 'renaming'); },
        });
      } catch (e) {
        if (e instanceof TransportError && !e.transient) {
          this.journal.setTrigger(t.id, 'failed', { error: e.message });
          await this.failInput(folder, row, [{ code: 'E_EXPORT', severity: 'error', message: `not sent: ${e.message}` }]);
          return true;
        }
        this.journal.setTrigger(t.id, 'uploading', { error: (e as Error).message });
        throw e;
      }
      this.lastUpload = Date.now();
      this.journal.setTrigger(t.id, 'uploaded');
    }
    if (this.journal.triggersOf(row.id).every((t) => t.state !== 'built' && t.state !== 'uploading' && t.state !== 'renaming')) {
      // The documents dropped with it are done with it, in the same transaction.
      this.journal.tx(() => {
        this.journal.setInput(row.id, 'sent');
        for (const d of dropped) this.journal.setInput(d.id, 'done');
      });
      for (const d of dropped) await this.settleFiles(this.journal.input(d.id)!);
      this.events.onEvent?.({ type: 'sent', input: row.id, name: row.name, detail: this.journal.triggersOf(row.id).map((t) => t.remote_name).join(', ') });
      this.hook('sent', row);
      return true;
    }
    return false;
  }

  /**
   * Documents dropped in the input's folder that its trigger names: those
   * waiting in work/, and those still in the drop folder (not yet taken).
   */
  private async droppedDocuments(row: InputRow, folder: DropFolderConfig): Promise<{ documents: InputRow[]; pending: string[] }> {
    const [first] = this.journal.triggersOf(row.id);
    if (!first) return { documents: [], pending: [] };
    const names = new Set(referencedDocuments((await readTriggerHead(first.local_path)).command).map((r) => r.name));
    if (names.size === 0) return { documents: [], pending: [] };
    const documents = this.journal.inputsIn('working').filter((d) => d.kind === 'document' && d.folder === row.folder && names.has(d.name));
    const configured = new Set(folder.documents.map((d) => basename(d)));
    const pending: string[] = [];
    for (const n of names) {
      if (configured.has(n) || documents.some((d) => d.name === n)) continue;
      if (await stat(join(folder.path, n)).then(() => true, () => false)) pending.push(n);
    }
    return { documents, pending };
  }

  /** A crash after `renaming` was journaled: the temp name tells whether the rename happened. */
  private async resumeRename(session: Session, root: string, t: TriggerRow): Promise<void> {
    const inDir = remoteJoin(root, 'in');
    const temp = remoteJoin(inDir, t.remote_name + UPLOADING_SUFFIX);
    const final = remoteJoin(inDir, t.remote_name);
    await session.run(`resume ${t.remote_name}`, async (tr) => {
      if ((await tr.stat(temp)) && !(await tr.stat(final))) await tr.rename(temp, final);
    });
    this.journal.setTrigger(t.id, 'uploaded');
  }

  /** Follows each uploaded trigger to its outcome; settles the input when all have one. */
  private async outcome(row: InputRow): Promise<boolean> {
    const folder = this.folderOf(row.folder);
    if (!folder) return false;
    const { session, root } = await this.open();
    for (const t of this.journal.triggersOf(row.id)) {
      if (t.state !== 'uploaded' && t.state !== 'timeout') continue;
      const o = await trackOutcome(session, root, t.remote_name, { timeouts: { ...this.config.timeouts, outcome: Math.min(this.config.timeouts.outcome, 30) } });
      this.journal.setTrigger(t.id, o, { outcome: o });
      this.events.onEvent?.({ type: 'outcome', input: row.id, name: t.remote_name, detail: o });
      if (o === 'timeout') return false;
    }
    const all = this.journal.triggersOf(row.id);
    const failed = all.filter((t) => t.state === 'failed');
    if (failed.length) {
      await this.failInput(folder, row, [{ code: 'E_EXPORT', severity: 'error', message: `the platform moved ${failed.map((t) => t.remote_name).join(', ')} to in/failed/: it refused the trigger (see the daily report or the extranet)` }]);
    } else {
      this.journal.setInput(row.id, 'done');
      await this.settleFiles(this.journal.input(row.id)!);
      this.hook('processed', row);
    }
    return true;
  }

  /** Records the failure, writes `<name>.error.txt`, moves the files to failed/. */
  private async failInput(folder: DropFolderConfig, row: InputRow, errors: Finding[]): Promise<void> {
    const text = errors.slice(0, 50).map((e) => `${e.line !== undefined ? `line ${e.line}: ` : ''}${e.code}${e.field ? ` [${e.field}]` : ''}: ${e.message}`).join('\n');
    this.journal.setInput(row.id, 'failed', text.slice(0, 4000));
    await writeFile(join(dirs(folder.path).failed, `${row.name}.error.txt`), errorFileText(row.name, row.id, errors, this.d.language));
    await this.settleFiles(this.journal.input(row.id)!);
    this.events.onEvent?.({ type: 'failed', input: row.id, name: row.name, detail: text.split('\n')[0] });
    this.hook('failed', row, text);
  }

  private async failFile(folder: DropFolderConfig, row: InputRow, why: string, path: string): Promise<void> {
    this.journal.setInput(row.id, 'duplicate', why);
    await writeFile(join(dirs(folder.path).failed, `${row.name}.error.txt`), `${row.name} (input #${row.id}): ${why}\n`);
    await moveIfThere(path, join(dirs(folder.path).failed, row.name));
  }

  /** Moves an input and its built triggers from work/ to sent/ (done) or failed/ (idempotent). */
  private async settleFiles(row: InputRow): Promise<void> {
    const folder = this.folderOf(row.folder);
    if (!folder) return;
    const dest = row.state === 'done' ? dirs(folder.path).sent : dirs(folder.path).failed;
    await moveIfThere(row.work_path, join(dest, row.name));
    for (const t of this.journal.triggersOf(row.id)) await moveIfThere(t.local_path, join(dest, basename(t.local_path).replace(/^\d{6}-/, '')));
    for (const extra of ['.command.yaml', '.done']) await moveIfThere(`${row.work_path}${extra}`, join(dest, `${row.name}${extra}`));
  }

  private async reportsIfTime(): Promise<void> {
    const { date, time } = parisNow(new Date());
    if (time >= this.d.reportsAt && this.lastReportDay !== date) {
      this.lastReportDay = date;
      await this.collectReports().catch((e: Error) => this.logger.warn({ err: e.message }, 'report collection failed; next time'));
    }
  }

  /** Downloads and acks the reports; the journal records each and links the broadcasts to their inputs. */
  async collectReports(): Promise<void> {
    const { session, root } = await this.open();
    const got: { name: string; size: number; localPath: string; fetched: string; ack: string }[] = [];
    await fetchReports(session, {
      remoteRoot: root, serviceId: this.config.service.serviceId, dir: this.config.reports.dir, ackNaming: this.config.reports.ackNaming, logger: this.logger,
      onReport: (r) => { got.push(r); },
    });
    // The report's row is written once its lines are linked to the triggers: a report marked acked is also linked.
    for (const r of got) {
      const known = this.journal.report(r.name);
      let detail = `${r.fetched}, ${r.ack}`;
      if (!known || known.size !== r.size) {
        const lines: { ref: string; broadcastId: string }[] = [];
        for await (const rec of readCra(createReadStream(r.localPath), new FindingList(0))) if (rec.externalReference) lines.push({ ref: rec.externalReference.trim(), broadcastId: rec.broadcastId });
        const linked = this.journal.linkBroadcasts(lines);
        this.hooks.emit({ event: 'report', at: new Date().toISOString(), report: { name: r.name, localPath: r.localPath }, links: this.journal.broadcastLinks(linked), detail: `${lines.length} results, ${linked.length} trigger(s) linked` });
        detail += `, ${linked.length} trigger(s) linked to their broadcast`;
      }
      this.journal.setReport({ name: r.name, size: r.size, state: r.ack === 'not-acked' ? 'downloaded' : 'acked', local_path: r.localPath });
      this.events.onEvent?.({ type: 'report', name: r.name, detail });
    }
  }
}
