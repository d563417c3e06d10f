/**
 * The DMC (S)FTP handshake, written once above the Transport interface
 * (guide §3.2, lines 8973-9040; TRIGGER-PROTOCOLS.md §1):
 *
 * 1. Documents first: each written as `<name>.uploading`, its size checked
 *    on the server, then renamed to `<name>`.
 * 2. Then a bounded wait until the documents have left `in/` (the platform
 *    takes files once a minute), so the trigger never names a document the
 *    platform has not seen.
 * 3. The trigger last, the same way; never if a document failed.
 * 4. Remote trigger names are unique (name + timestamp + content hash) so
 *    the outcome can be found; a rename never overwrites an existing file.
 * 5. A lost rename reply: which name exists is checked before acting again.
 * 6. Outcome: `in/`, `in/processing/`, `in/processed/`, `in/failed/` are
 *    polled until the file reaches processed or failed, or disappears
 *    unseen into the archive (`unknown`), bounded by a timeout.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ResolvedConfig } from '../config/config.js';
import type { Logger } from './logger.js';
import type { Session } from './session.js';
import { plainName, remoteJoin, TransportError, type ChunkReader, type Transport, type UploadSource } from './transport.js';

export type { UploadSource } from './transport.js';

export const UPLOADING_SUFFIX = '.uploading';

/**
 * A tag for one attempt at an upload: `<node>-<epoch>-<6 hex>` (`a-7-3f9c2e`),
 * or 6 hex alone. Temporary names carry it (`<name>.<tag>.uploading`), so two
 * attempts, of two nodes or of one node before and after a crash, never
 * write the same temporary file, and a late operation of a deposed leader
 * on its own temporary file cannot touch the new leader's.
 */
export function attemptTag(node?: string, epoch?: number | null): string {
  const hex = randomBytes(3).toString('hex');
  if (node === undefined) return hex;
  return `${node.replace(/[^A-Za-z0-9_]+/g, '_').slice(0, 24)}-${epoch ?? 0}-${hex}`;
}

/** The temporary name of `name` for one attempt (`promo.csv.a-7-3f9c2e.uploading`); without a tag, the plain `promo.csv.uploading`. */
export function temporaryName(name: string, tag?: string | null): string {
  return tag ? `${name}.${tag}${UPLOADING_SUFFIX}` : name + UPLOADING_SUFFIX;
}

/** What an upload may be told besides its file. */
export interface UploadOptions {
  /** Bytes sent so far, for progress bars. */
  readonly onBytes?: (sent: number, total: number) => void;
  /** Called just before the rename is sent (the daemon journals it). */
  readonly beforeRename?: () => void | Promise<void>;
  /** A file already under its final name with the same size: `done` takes it as this upload's (documents); `refuse` (default) fails. */
  readonly sameSizeFinal?: 'refuse' | 'done';
  /**
   * This attempt's tag (attemptTag()); default: a fresh one for this call.
   * `null`: the plain `<name>.uploading`, which the next attempt writes
   * again (an empty ack, whose second rename is refused as a duplicate).
   */
  readonly attempt?: string | null;
}

export type Outcome = 'processed' | 'failed' | 'unknown' | 'timeout';

/** A step of a send, for progress lines and the daemon's journal. */
export type SendStep =
  | { step: 'upload-start'; kind: 'document' | 'trigger'; name: string; bytes: number }
  | { step: 'uploaded'; kind: 'document' | 'trigger'; name: string; bytes: number }
  | { step: 'documents-waiting'; names: string[] }
  | { step: 'documents-taken'; names: string[] }
  | { step: 'outcome-seen'; where: 'in' | 'processing' | 'processed' | 'failed'; name: string }
  | { step: 'outcome'; outcome: Outcome; name: string };

export interface SendInput {
  /** Local trigger file. */
  readonly trigger: string;
  /** Remote trigger name; default: a unique name made from the local one. */
  readonly remoteName?: string;
  /** Local documents, sent first under their own names (plain names only), or under the name given. */
  readonly documents?: readonly (string | { readonly path: string; readonly name: string })[];
}

export interface HandshakeOptions {
  readonly remoteRoot: string;
  readonly timeouts: ResolvedConfig['timeouts'];
  readonly logger: Logger;
  /** Wait for documents to leave in/ before the trigger (default true). */
  readonly waitForDocuments?: boolean;
  readonly onStep?: (s: SendStep) => void | Promise<void>;
  /** Bytes sent so far of the file being uploaded (for progress bars). */
  readonly onBytes?: (name: string, sent: number, total: number) => void;
  /** Called just before the trigger's rename is sent (the daemon journals it). */
  readonly beforeTriggerRename?: () => void | Promise<void>;
  /** The tag of this attempt's temporary names (attemptTag()); default: a fresh one for this call. */
  readonly attempt?: string;
}

export interface SendResult {
  readonly remoteName: string;
  readonly documents: readonly string[];
  readonly bytes: number;
}

/** SHA-256 of a local file, hex. */
export async function fileHash(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest('hex');
}

/** `campagne.csv` → `campagne_20270115T090000_1a2b3c4d.csv`: unique, sortable, traceable to its content. */
export function uniqueRemoteName(localName: string, contentHash: string, now: Date = new Date()): string {
  const ext = extname(localName);
  const base =
    basename(localName, ext)
      .replace(/[^A-Za-z0-9._-]+/g, '_')
      .slice(0, 100) || 'trigger';
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, '');
  return `${base}_${stamp}_${contentHash.slice(0, 8)}${ext.toLowerCase()}`;
}

/**
 * Finds the account's root: the configured one, else `.` when the login
 * lands in it (it holds `in/`), else `DMC_<serviceId>` one level below.
 */
export async function resolveRemoteRoot(session: Session, serviceId: string, configured?: string): Promise<string> {
  if (configured !== undefined) return configured;
  return session.run('find remote root', async (t) => {
    if ((await t.stat('in'))?.type === 'dir') return '.';
    const below = `DMC_${serviceId}`;
    if ((await t.stat(`${below}/in`))?.type === 'dir') return below;
    throw new TransportError(
      'NOT_FOUND',
      `no in/ folder at the login folder of ${t.endpoint} nor in ${below}/: set transport.remoteRoot to the folder that holds in/ and out/`,
      { remotePath: below },
    );
  });
}

/** A local file as an upload source: a stream (SFTP), or reads into the transport's own buffers (FTP). */
export async function fileSource(path: string): Promise<UploadSource> {
  const size = (await stat(path)).size;
  return {
    size,
    // 256 KiB reads: a quarter of the write requests (SFTP) and chunks through the byte counter that 64 KiB reads make.
    open: () => createReadStream(path, { highWaterMark: 256 * 1024 }),
    openReader: async (): Promise<ChunkReader> => {
      const fh = await open(path, 'r');
      let position = 0;
      return {
        read: async (into) => {
          const { bytesRead } = await fh.read(into, 0, into.length, position);
          position += bytesRead;
          return bytesRead;
        },
        close: () => fh.close(),
      };
    },
  };
}

/**
 * Uploads one file as `<dir>/<name>` with the `.uploading` handshake, under
 * this attempt's temporary name (`<name>.<tag>.uploading`).
 * Safe to run again after a transient failure: it looks at the server first.
 */
export async function uploadWithHandshake(
  session: Session,
  source: UploadSource,
  dir: string,
  name: string,
  log: Logger,
  opts: UploadOptions = {},
): Promise<number> {
  plainName(name);
  const { onBytes, beforeRename, sameSizeFinal = 'refuse' } = opts;
  const size = source.size;
  const final = remoteJoin(dir, name);
  const tempName = temporaryName(name, opts.attempt === undefined ? attemptTag() : opts.attempt);
  const temp = remoteJoin(dir, tempName);
  let renameSent = false;
  let tempComplete = false;
  return session.run(`upload ${final}`, async (t: Transport) => {
    // The temporary name is this attempt's own: it matters once this call has sent to it, or to take a document
    // found under its final name as ours. Otherwise the final name alone is looked at (on SFTP, one stat request fewer).
    const both = renameSent || tempComplete || sameSizeFinal === 'done';
    const [atTemp, atFinal] = both ? await t.statSiblings(dir, [tempName, name]) : [undefined, ...(await t.statSiblings(dir, [name]))];
    // Our rename was sent and the temp name is gone: it happened, though its reply was lost. The file is
    // under its final name, or already taken by the platform: sending it again would send it twice.
    if (renameSent && !atTemp) return size;
    // A document whose rename reply was lost by an earlier run: the same name and size is taken as ours.
    if (atFinal && sameSizeFinal === 'done' && atFinal.size === size && !atTemp) {
      log.info({ remote: final, bytes: size }, 'already on the server with the same size (an earlier run sent it)');
      return size;
    }
    if (atFinal) {
      throw new TransportError(
        'TARGET_EXISTS',
        `${final} already exists on ${t.endpoint}: a rename never overwrites a file; choose another name, or wait until the platform has taken the earlier one`,
        { remotePath: final, transient: false },
      );
    }
    // The temporary name is this attempt's own: reused only for what this call sent and checked.
    if (!(tempComplete && atTemp?.size === size)) {
      await t.upload(source, temp, onBytes ? (sent) => onBytes(sent, size) : undefined);
      const got = await t.sizeOfUploaded(temp);
      if (got !== size) {
        throw new TransportError(
          'SIZE_MISMATCH',
          `${temp} is ${got ?? 'missing'} bytes on ${t.endpoint} after sending ${size}: the transfer was cut; sending again`,
          { remotePath: temp },
        );
      }
      tempComplete = true;
    }
    // A caller that journals (the daemon) records that the rename may happen: after a crash, a temp name
    // that is gone then proves it did, even when the platform has already archived the file.
    await beforeRename?.();
    renameSent = true;
    await t.rename(temp, final);
    log.info({ remote: final, bytes: size }, 'uploaded');
    return size;
  });
}

/**
 * Sends documents then a trigger with the handshake. Resolves when the
 * trigger has its final name in `in/`; `trackOutcome` follows it further.
 */
export async function sendTrigger(session: Session, input: SendInput, opts: HandshakeOptions): Promise<SendResult> {
  const log = opts.logger;
  const inDir = remoteJoin(opts.remoteRoot, 'in');
  const docs = (input.documents ?? []).map((d) =>
    typeof d === 'string' ? { path: d, name: plainName(basename(d)) } : { path: d.path, name: plainName(d.name) },
  );
  const remoteName = plainName(input.remoteName ?? uniqueRemoteName(basename(input.trigger), await fileHash(input.trigger)));
  const attempt = opts.attempt ?? attemptTag();
  let bytes = 0;
  for (const d of docs) {
    const size = (await stat(d.path)).size;
    await opts.onStep?.({ step: 'upload-start', kind: 'document', name: d.name, bytes: size });
    bytes += await uploadWithHandshake(session, await fileSource(d.path), inDir, d.name, log, {
      ...(opts.onBytes ? { onBytes: (a: number, b: number) => opts.onBytes?.(d.name, a, b) } : {}),
      sameSizeFinal: 'done',
      attempt,
    });
    await opts.onStep?.({ step: 'uploaded', kind: 'document', name: d.name, bytes: size });
  }
  if (docs.length > 0 && opts.waitForDocuments !== false)
    await waitDocumentsTaken(
      session,
      inDir,
      docs.map((d) => d.name),
      opts,
    );
  const size = (await stat(input.trigger)).size;
  await opts.onStep?.({ step: 'upload-start', kind: 'trigger', name: remoteName, bytes: size });
  bytes += await uploadWithHandshake(session, await fileSource(input.trigger), inDir, remoteName, log, {
    ...(opts.onBytes ? { onBytes: (a: number, b: number) => opts.onBytes?.(remoteName, a, b) } : {}),
    ...(opts.beforeTriggerRename ? { beforeRename: opts.beforeTriggerRename } : {}),
    attempt,
  });
  await opts.onStep?.({ step: 'uploaded', kind: 'trigger', name: remoteName, bytes: size });
  return { remoteName, documents: docs.map((d) => d.name), bytes };
}

async function waitDocumentsTaken(session: Session, inDir: string, names: string[], opts: HandshakeOptions): Promise<void> {
  const deadline = Date.now() + opts.timeouts.documentsTaken * 1000;
  await opts.onStep?.({ step: 'documents-waiting', names });
  for (;;) {
    const present = await session.run('list in/', async (t) => new Set((await t.list(inDir)).map((e) => e.name)));
    const waiting = names.filter((n) => present.has(n));
    if (waiting.length === 0) {
      await opts.onStep?.({ step: 'documents-taken', names });
      return;
    }
    if (Date.now() >= deadline) {
      throw new TransportError(
        'TIMEOUT',
        `the platform has not taken ${waiting.join(', ')} from in/ within ${opts.timeouts.documentsTaken} s: the trigger was not sent (it would name a document the platform has not seen). The platform takes files once a minute; raise timeouts.documentsTaken, or check that it is running`,
        { remotePath: inDir, transient: false },
      );
    }
    await sleep(opts.timeouts.poll * 1000);
  }
}

/**
 * Follows a trigger through in/ → in/processing/ → in/processed/ or
 * in/failed/. `unknown` when it left every folder without being seen in
 * processed/ or failed/ (archived between two polls); `timeout` when it is
 * still pending at the deadline.
 */
export async function trackOutcome(session: Session, remoteRoot: string, name: string, opts: Pick<HandshakeOptions, 'timeouts' | 'onStep'>): Promise<Outcome> {
  const deadline = Date.now() + opts.timeouts.outcome * 1000;
  // In the direction files move: a file that moves on between two looks is found further on.
  const where = ['in', 'processing', 'processed', 'failed'] as const;
  const dirOf = (w: (typeof where)[number]): string => (w === 'in' ? remoteJoin(remoteRoot, 'in') : remoteJoin(remoteRoot, 'in', w));
  const look = async (): Promise<(typeof where)[number] | undefined> => {
    for (const w of where) {
      if (await session.run(`stat ${w}/${name}`, (t) => t.stat(remoteJoin(dirOf(w), name)))) return w;
    }
    return undefined;
  };
  let last: string | undefined;
  for (;;) {
    // Gone from every folder: look once more before calling it archived unseen.
    const seen = (await look()) ?? (await look());
    if (seen && seen !== last) {
      await opts.onStep?.({ step: 'outcome-seen', where: seen, name });
      last = seen;
    }
    if (seen === 'processed' || seen === 'failed') {
      await opts.onStep?.({ step: 'outcome', outcome: seen, name });
      return seen;
    }
    if (!seen) {
      await opts.onStep?.({ step: 'outcome', outcome: 'unknown', name });
      return 'unknown';
    }
    if (Date.now() >= deadline) {
      await opts.onStep?.({ step: 'outcome', outcome: 'timeout', name });
      return 'timeout';
    }
    await sleep(opts.timeouts.poll * 1000);
  }
}
