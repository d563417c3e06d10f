/**
 * One small interface over SFTP and FTP. The DMC handshake (`.uploading`
 * then rename, documents first, outcome) is written once above it, in
 * handshake.ts, not once per protocol.
 */
import type { Readable, Writable } from 'node:stream';
import { counted } from './byte-counter.js';

export interface RemoteEntry {
  readonly name: string;
  readonly size: number;
  readonly type: 'file' | 'dir' | 'other';
  /** Modification time, ms since the epoch, when the server says. */
  readonly mtime?: number;
}

/** What an upload sends: its size, and its bytes, again for each attempt. */
export interface UploadSource {
  readonly size: number;
  /** The bytes as a stream (a fresh one for each call). */
  open(): Readable;
  /**
   * The same bytes read in order into buffers the transport owns and reuses
   * (a local file): a transport that writes from them allocates nothing per
   * chunk. FTP uses it: a new buffer per chunk took three times the CPU.
   */
  openReader?(): Promise<ChunkReader>;
}

/** A source read into the caller's buffers. */
export interface ChunkReader {
  /** Reads the next bytes into `into`, from its start; resolves with how many, 0 at the end. */
  read(into: Buffer): Promise<number>;
  close(): Promise<void>;
}

/**
 * Called before each chunk of an upload goes out, with the bytes sent once
 * it has; a throw stops the upload with that error (the chunk is not sent).
 */
export type BeforeChunk = (sentWithIt: number) => void;

export interface Transport {
  readonly protocol: 'sftp' | 'ftp';
  /** `host:port` for messages. */
  readonly endpoint: string;
  connect(): Promise<void>;
  /** Writes (creates or truncates) a remote file; resolves when the server has it all. */
  upload(source: Readable | UploadSource, remotePath: string, beforeChunk?: BeforeChunk): Promise<void>;
  /** Renames; whether it replaces an existing target depends on the server: the handshake checks first. */
  rename(from: string, to: string): Promise<void>;
  /** The entry, or undefined when nothing is at that path. */
  stat(remotePath: string): Promise<RemoteEntry | undefined>;
  /** The entries of several names of one folder (undefined where nothing is): one listing over FTP, a stat each over SFTP. */
  statSiblings(remoteDir: string, names: readonly string[]): Promise<(RemoteEntry | undefined)[]>;
  /** The size of a file this session just wrote (undefined when it is not there): SIZE over FTP (no data connection), stat over SFTP. */
  sizeOfUploaded(remotePath: string): Promise<number | undefined>;
  list(remoteDir: string): Promise<RemoteEntry[]>;
  /** Streams a remote file into `destination`; resolves with the byte count. */
  download(remotePath: string, destination: Writable): Promise<number>;
  remove(remotePath: string): Promise<void>;
  close(): Promise<void>;
}

export type TransportErrorCode =
  | 'CONNECT' // cannot reach the server (refused, DNS, unreachable)
  | 'TIMEOUT' // connect, idle or transfer timeout
  | 'CONNECTION_LOST' // the session died during an operation
  | 'AUTH' // login refused
  | 'HOST_KEY_UNKNOWN' // SFTP host key not pinned
  | 'HOST_KEY_MISMATCH' // SFTP host key differs from the pinned one
  | 'PERMISSION' // the server refuses the operation on that path
  | 'NOT_FOUND'
  | 'TARGET_EXISTS' // a rename would overwrite a file
  | 'SIZE_MISMATCH' // the server's size differs from what was sent
  | 'REFUSED' // another refusal from the server (FTP 5xx...)
  | 'PROTOCOL' // the server answered something unexpected
  | 'STOPPED' // the session was stopped (SIGTERM): nothing more is sent; the work resumes at the next start
  | 'DEPOSED'; // this node may no longer act for the account (its lease ran out): nothing more is sent; the leader resumes the work

const TRANSIENT: ReadonlySet<TransportErrorCode> = new Set(['CONNECT', 'TIMEOUT', 'CONNECTION_LOST', 'SIZE_MISMATCH', 'STOPPED', 'DEPOSED']);

/**
 * A transport failure with what a person needs to act on it. `transient`
 * says whether a retry may succeed (connection faults, timeouts, FTP 4xx);
 * authentication, host keys and permissions never are.
 */
export class TransportError extends Error {
  override readonly name = 'TransportError';
  readonly transient: boolean;
  constructor(
    readonly code: TransportErrorCode,
    message: string,
    readonly details: { protocol?: 'sftp' | 'ftp'; command?: string; remotePath?: string; reply?: string; transient?: boolean; cause?: unknown } = {},
  ) {
    super(message, details.cause !== undefined ? { cause: details.cause } : undefined);
    this.transient = details.transient ?? TRANSIENT.has(code);
  }
}

export function isTransient(e: unknown): boolean {
  return e instanceof TransportError && e.transient;
}

/** An UploadSource rather than a stream (a stream has `pipe`; an fs stream also has an `open`). */
export function isUploadSource(source: Readable | UploadSource): source is UploadSource {
  return !('pipe' in source) && typeof (source as UploadSource).open === 'function';
}

/** The stream an upload reads, with `beforeChunk` asked before each chunk passes. */
export function uploadStream(source: Readable | UploadSource, beforeChunk?: BeforeChunk): Readable {
  const stream = isUploadSource(source) ? source.open() : source;
  return beforeChunk ? counted(stream, beforeChunk) : stream;
}

/** Joins remote path parts with `/`, refusing any part that would leave its folder. */
export function remoteJoin(...parts: string[]): string {
  const segs: string[] = [];
  parts.forEach((p, i) => {
    for (const s of p.split('/')) {
      if (s === '' || s === '.') continue;
      if (s === '..') throw new TransportError('PERMISSION', `remote path part '${p}' leaves its folder: '..' is not allowed`);
      segs.push(s);
    }
    if (i === 0 && p.startsWith('/')) segs.unshift('');
  });
  const joined = segs.join('/');
  return joined === '' ? '/' : joined;
}

/** Refuses a file name that is not a plain name (no path, no '..'): names come from inputs. */
export function plainName(name: string): string {
  if (name === '' || name === '.' || name === '..' || /[/\\\u0000]/.test(name)) {
    throw new TransportError('PERMISSION', `'${name}' is not a plain file name: names from triggers and folders may not hold a path`);
  }
  return name;
}
