/**
 * The platform's side of an (S)FTP account, one pass at a time (the real
 * platform runs a pass every minute; guide §3.2, lines 8973-9040):
 *   1. documents with a known extension go through in/processing/ (copied
 *      to the account's store there) to in/processed/, as every file with a
 *      known extension does (lines 9026-9028);
 *   2. each trigger (.csv, .xml) moves to in/processing/, is validated with
 *      the project's own validator (plus: its documents are in the store, at
 *      most 100,000 contacts, its serviceId is the account's), then moves to
 *      in/processed/ (a broadcast is created) or in/failed/;
 *   3. files in processed/ and failed/ go to archive/ after a while;
 *   4. an ack in out/ack/ (either naming) deletes its report, then itself;
 *      reports past their retention are deleted;
 *   5. at report time, the results of the broadcasts that have ended are
 *      written to out/CRA_<serviceId>_<date>.csv (ISO-8859-15): on the daily
 *      schedule, those that ended before the report's day ("les diffusions
 *      terminées la veille", line 9882), so no call date is ever after the
 *      report's date; on a short period (sandbox, tests), those that ended
 *      before the report's time.
 * `.uploading` files and dot-files are never taken.
 */
import { appendFile, copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CRA_HEADER, craFileName } from '../formats/cra.js';
import { encodeLatin9 } from '../formats/encoding.js';
import { isDocumentName } from '../formats/document-types.js';
import { parisTime, parisWallToDate } from '../formats/paris-time.js';
import { FindingList } from '../formats/findings.js';
import { openTriggerFile, validateTriggerFile } from '../files/read-trigger.js';
import { contactResult, mediaOf, type ContactResult, type Medium } from './results.js';
import { queuePush, type PushTarget } from './pusher.js';

export const DMC_DIRS = ['in', 'in/processing', 'in/processed', 'in/failed', 'out', 'out/ack'] as const;
const TRIGGER_EXT = /\.(csv|xml)$/i;

export interface Account {
  readonly serviceId: string;
  readonly username: string;
  readonly password?: string;
  readonly publicKeys?: readonly string[];
  /** Space used by mail2sms (`<spaceId>@mailtoSMS.fr`). */
  readonly spaceId?: string;
  /** Senders allowed to trigger by email: addresses or whole domains (guide §3.3.2). */
  readonly allowedSenders?: readonly string[];
  /** Senders for whom mail2sms is enabled (guide §3.6); default: allowedSenders. */
  readonly mail2smsSenders?: readonly string[];
}

/** Where an account lives under the simulator's root. */
export function accountPaths(root: string, a: Account) {
  const base = join(root, 'accounts', a.username);
  const home = join(base, 'home');
  const dmc = join(home, `DMC_${a.serviceId}`);
  return { base, home, dmc, archive: join(base, 'archive'), store: join(base, 'store'), state: join(base, 'state') };
}

export async function createAccountLayout(root: string, a: Account): Promise<ReturnType<typeof accountPaths>> {
  const p = accountPaths(root, a);
  for (const d of DMC_DIRS) await mkdir(join(p.dmc, d), { recursive: true });
  for (const d of [p.archive, p.store, p.state]) await mkdir(d, { recursive: true });
  return p;
}

export type PlatformEvent =
  | { type: 'document-taken'; account: string; name: string }
  | { type: 'taken'; account: string; name: string }
  | { type: 'processed'; account: string; name: string; broadcastId: number; contacts: number; startsAt?: string }
  | { type: 'failed'; account: string; name: string; errors: string[] }
  | { type: 'archived'; account: string; name: string; from: 'processed' | 'failed' }
  | { type: 'report'; account: string; name: string; results: number }
  | { type: 'ack'; account: string; report: string; ack: string; deleted: boolean }
  | { type: 'purged'; account: string; name: string }
  | { type: 'error'; account: string; message: string }
  | { type: 'mail-received'; account: string; from: string; to: string; subject: string }
  | { type: 'mail-ignored'; from: string; to: string; reason: string }
  | { type: 'mail-broadcast'; account: string; from: string; broadcastId: number; contacts: number }
  | { type: 'mail-refused'; account: string; from: string; cause: string }
  | { type: 'mail-reply'; to: string; kind: string }
  | { type: 'pushed'; account: string; posts: number; statuses: number }
  | { type: 'push-failed'; account: string; error: string; waiting: number };

export interface PlatformOptions {
  readonly root: string;
  /** Seed of the results: the same seed gives the same results. */
  readonly seed: string;
  /** Seconds before processed/failed files go to the archive. */
  readonly archiveAfter: number;
  /** Days a report stays in out/ without an ack. */
  readonly retentionDays: number;
  readonly emit: (e: PlatformEvent) => void;
  readonly now?: () => Date;
  /**
   * Which broadcasts a report holds: `previous-day` (the platform's nightly
   * report: those that ended before the report's day) or `ended` (those that
   * ended before the report's time). Default `previous-day`.
   */
  readonly reportScope?: 'previous-day' | 'ended';
  /** Seconds over which a broadcast's calls spread after it is processed (default 3600). */
  readonly callSpread?: number;
  /** scenarioId → medium, for the scenarios the blocks do not tell (see mediaOf). */
  readonly scenarioMedia?: Readonly<Record<string, Medium>>;
  /** Where to push the statuses (guide §2.9); absent: no push. */
  readonly push?: PushTarget;
}

interface State {
  nextBroadcastId: number;
  nextContactId: number;
}

async function readState(p: ReturnType<typeof accountPaths>): Promise<State> {
  try {
    return JSON.parse(await readFile(join(p.state, 'state.json'), 'utf8')) as State;
  } catch {
    return { nextBroadcastId: 1000, nextContactId: 5_000_000 };
  }
}
async function writeState(p: ReturnType<typeof accountPaths>, s: State): Promise<void> {
  await writeFile(join(p.state, 'state.json.tmp'), JSON.stringify(s));
  await rename(join(p.state, 'state.json.tmp'), join(p.state, 'state.json'));
}

const visible = (f: string): boolean => !f.startsWith('.') && !f.endsWith('.uploading');

/** Steps 1 to 4. */
export async function processAccount(a: Account, opts: PlatformOptions): Promise<void> {
  const p = accountPaths(opts.root, a);
  const now = opts.now?.() ?? new Date();
  const inDir = join(p.dmc, 'in');
  const entries = (await readdir(inDir, { withFileTypes: true }))
    .filter((e) => e.isFile() && visible(e.name))
    .map((e) => e.name)
    .sort();
  for (const name of entries.filter(isDocumentName)) {
    const processing = join(inDir, 'processing', name);
    await rename(join(inDir, name), processing);
    await copyFile(processing, join(p.store, name));
    await rename(processing, join(inDir, 'processed', name));
    opts.emit({ type: 'document-taken', account: a.username, name });
  }
  for (const name of entries.filter((n) => TRIGGER_EXT.test(n))) {
    const processing = join(inDir, 'processing', name);
    await rename(join(inDir, name), processing);
    opts.emit({ type: 'taken', account: a.username, name });
    const errors = await checkTrigger(processing, a, p.store);
    if (errors.length > 0) {
      await rename(processing, join(inDir, 'failed', name));
      opts.emit({ type: 'failed', account: a.username, name, errors });
      continue;
    }
    const done = join(inDir, 'processed', name);
    await rename(processing, done);
    const { broadcastId, contacts, startsAt } = await createBroadcast(done, p, opts, now);
    opts.emit({ type: 'processed', account: a.username, name, broadcastId, contacts, ...(startsAt ? { startsAt } : {}) });
  }
  for (const from of ['processed', 'failed'] as const) {
    const dir = join(inDir, from);
    for (const name of await readdir(dir)) {
      const st = await stat(join(dir, name)).catch(() => undefined);
      if (st && now.getTime() - st.mtimeMs >= opts.archiveAfter * 1000) {
        await rename(join(dir, name), join(p.archive, `${now.getTime()}-${name}`));
        opts.emit({ type: 'archived', account: a.username, name, from });
      }
    }
  }
  const out = join(p.dmc, 'out');
  for (const ack of (await readdir(join(out, 'ack'))).filter(visible)) {
    const m = /^(CRA_.+_\d{4}-\d{2}-\d{2})(\.csv)?\.ack$/.exec(ack);
    if (!m) continue;
    const report = `${m[1]}.csv`;
    const deleted = await rm(join(out, report)).then(
      () => true,
      () => false,
    );
    await rm(join(out, 'ack', ack), { force: true });
    opts.emit({ type: 'ack', account: a.username, report, ack, deleted });
  }
  for (const name of (await readdir(out)).filter((n) => /^CRA_.*\.csv$/.test(n))) {
    const st = await stat(join(out, name)).catch(() => undefined);
    if (st && now.getTime() - st.mtimeMs > opts.retentionDays * 86_400_000) {
      await rm(join(out, name), { force: true });
      opts.emit({ type: 'purged', account: a.username, name });
    }
  }
}

/** The validator's errors, plus the platform's own checks (documents in the store, the account's service). */
async function checkTrigger(path: string, a: Account, store: string): Promise<string[]> {
  const r = await validateTriggerFile(path, { documentsDir: store, findingCap: 20 });
  const errors = r.errors.map((e) => `${e.line !== undefined ? `line ${e.line}: ` : ''}${e.code}: ${e.message}`);
  if (r.command.serviceId !== undefined && r.command.serviceId !== a.serviceId)
    errors.push(`serviceId ${r.command.serviceId} is not this account's service (${a.serviceId})`);
  return errors;
}

/** Draws every contact's result into the account's pending results (JSON lines). */
export async function createBroadcast(
  path: string,
  p: ReturnType<typeof accountPaths>,
  opts: PlatformOptions,
  now: Date,
): Promise<{ broadcastId: number; contacts: number; startsAt?: string }> {
  const state = await readState(p);
  const broadcastId = state.nextBroadcastId++;
  const reading = await openTriggerFile(path, new FindingList(0));
  // A broadcast starts at its startDate (guide line 9077, Paris time) when that is later than now: its calls, pushes and report wait.
  const declared = reading.head.command.startDate;
  const startAt = declared ? parisWallToDate(declared) : undefined;
  const start = startAt && startAt.getTime() > now.getTime() ? startAt : now;
  const media = mediaOf(reading.head.command, opts.scenarioMedia);
  const userLang = reading.head.command.userLang;
  let batch = '';
  let n = 0;
  try {
    for await (const c of reading.contacts) {
      const r: ContactResult = contactResult(reading.head.columns, c.values, media, {
        seed: opts.seed,
        broadcastId,
        index: n,
        contactId: state.nextContactId++,
        start,
        spread: opts.callSpread ?? 3600,
        userLang,
      });
      batch += `${JSON.stringify({ broadcastId, ...r })}\n`;
      n++;
      if (batch.length > 1 << 20) {
        await appendFile(join(p.state, 'pending.jsonl'), batch);
        if (opts.push) await queuePush(p.state, batch);
        batch = '';
      }
    }
  } finally {
    await reading.close();
  }
  if (batch) await appendFile(join(p.state, 'pending.jsonl'), batch);
  if (batch && opts.push) await queuePush(p.state, batch);
  await writeState(p, state);
  return { broadcastId, contacts: n, ...(start !== now ? { startsAt: declared! } : {}) };
}

/** `YYYY-MM-DD` in Europe/Paris. */
export function parisDate(d: Date): string {
  return parisTime(d).date;
}

/** A pending result: the contact's CRA line, its broadcast and when its call happens (ms; absent in older files: long past). */
type PendingResult = ContactResult & { broadcastId: number; callAt?: number };

/**
 * Step 5: writes the results of the broadcasts that have ended to the day's
 * report; the others stay pending. While a report of the same date still
 * waits in out/ (not acked), the results wait for the next report time.
 */
export async function writeReport(a: Account, opts: PlatformOptions): Promise<string | undefined> {
  const p = accountPaths(opts.root, a);
  const now = opts.now?.() ?? new Date();
  const pending = join(p.state, 'pending.jsonl');
  const text = await readFile(pending, 'utf8').catch(() => '');
  if (!text.trim()) return undefined;
  const name = craFileName(a.serviceId, parisDate(now));
  const target = join(p.dmc, 'out', name);
  if (
    await stat(target).then(
      () => true,
      () => false,
    )
  )
    return undefined;
  const all = text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as PendingResult);
  const ends = new Map<number, number>();
  for (const r of all) ends.set(r.broadcastId, Math.max(ends.get(r.broadcastId) ?? 0, r.callAt ?? 0));
  const today = parisDate(now);
  const ended = (id: number): boolean => {
    const end = ends.get(id) ?? 0;
    return (opts.reportScope ?? 'previous-day') === 'ended' ? end <= now.getTime() : parisDate(new Date(end)) < today;
  };
  const rows = all.filter((r) => ended(r.broadcastId));
  if (rows.length === 0) return undefined;
  const clean = (s: string): string => s.replace(/[;\r\n]/g, ' ');
  const body =
    [
      CRA_HEADER.join(';'),
      ...rows.map((r) =>
        [r.broadcastId, r.contactId, r.externalReference, r.name, r.forename, r.label, r.address, r.callDate, r.attempts]
          .map((v) => clean(String(v)))
          .join(';'),
      ),
    ].join('\n') + '\n';
  // Written under a dot-name, then renamed: a client never sees a report half written.
  const temp = join(p.dmc, 'out', `.${name}.writing`);
  await writeFile(temp, encodeLatin9(body));
  await rename(temp, target);
  await writeFile(join(p.state, `reported-${Date.now()}.jsonl`), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const rest = all.filter((r) => !ended(r.broadcastId));
  await writeFile(`${pending}.tmp`, rest.map((r) => `${JSON.stringify(r)}\n`).join(''));
  await rename(`${pending}.tmp`, pending);
  opts.emit({ type: 'report', account: a.username, name, results: rows.length });
  return name;
}
