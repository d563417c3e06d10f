/**
 * FTP transport (basic-ftp). Active mode by default, since the platform
 * refuses passive (ftp-active.ts); passive as an option. FTP sends the
 * password and the files in clear text: the logger warns once per process.
 */
import { isIPv6 } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client, FTPError } from 'basic-ftp';
import type { ResolvedConfig } from '../config/config.js';
import { activeMode } from './ftp-active.js';
import type { Logger } from './logger.js';
import { byteCounter } from './byte-counter.js';
import { storFromReader } from './ftp-stor.js';
import { isUploadSource, TransportError, uploadStream, type BeforeChunk, type RemoteEntry, type Transport, type UploadSource } from './transport.js';

export interface FtpOptions {
  readonly transport: ResolvedConfig['transport'];
  readonly timeouts: ResolvedConfig['timeouts'];
  readonly logger: Logger;
}

let clearTextWarned = false;

export class FtpTransport implements Transport {
  readonly protocol = 'ftp' as const;
  readonly endpoint: string;
  private client: Client | undefined;

  constructor(private readonly opts: FtpOptions) {
    const h = opts.transport.host;
    this.endpoint = `${isIPv6(h) ? `[${h}]` : h}:${opts.transport.port}`;
  }

  async connect(): Promise<void> {
    const t = this.opts.transport;
    const log = this.opts.logger;
    if (!t.ftp.tls && !clearTextWarned) {
      clearTextWarned = true;
      log.warn({ host: this.endpoint }, 'FTP sends the password and the files in clear text; prefer SFTP (protocol: sftp) where the platform offers it');
    }
    const client = new Client(this.opts.timeouts.idle * 1000);
    client.ftp.verbose = false;
    try {
      await client.access({ host: t.host, port: t.port, user: t.username, password: t.password?.reveal() ?? '', secure: t.ftp.tls });
    } catch (e) {
      client.close();
      throw this.fail(e, 'login', '');
    }
    if (t.ftp.mode === 'active') {
      client.prepareTransfer = activeMode({
        ...(t.ftp.activeAddress ? { advertisedAddress: t.ftp.activeAddress } : {}),
        ...(t.ftp.activePortRange ? { portRange: t.ftp.activePortRange } : {}),
        acceptTimeout: this.opts.timeouts.connect * 1000,
      });
    }
    this.client = client;
    log.info({ host: this.endpoint, user: t.username, mode: t.ftp.mode }, 'ftp connected');
  }

  private get c(): Client {
    if (!this.client || this.client.closed) throw new TransportError('CONNECTION_LOST', `not connected to ${this.endpoint}`, { protocol: 'ftp' });
    return this.client;
  }

  /** FTP replies: 4xx transient, 5xx permanent (530 login, 550 not found or refused); socket faults lose the session. */
  private fail(e: unknown, command: string, remotePath: string): TransportError {
    if (e instanceof TransportError) return e;
    const d = { protocol: 'ftp' as const, command, remotePath, cause: e };
    if (e instanceof FTPError) {
      const reply = /^\d{3} /.test(e.message) ? e.message : `${e.code} ${e.message}`;
      const dd = { ...d, reply };
      if (e.code === 530)
        return new TransportError(
          'AUTH',
          `login refused by ${this.endpoint} for user '${this.opts.transport.username}' (${reply}): check the username and password`,
          dd,
        );
      if (e.code >= 450 && e.code <= 553 && /no such|not found|failed to open|not exist/i.test(e.message) && command !== 'rename')
        return new TransportError('NOT_FOUND', `${command} ${remotePath}: ${reply}`, dd);
      if (e.code === 550 || e.code === 553) return new TransportError('PERMISSION', `${command} ${remotePath}: refused by ${this.endpoint} (${reply})`, dd);
      if (e.code >= 400 && e.code < 500)
        return new TransportError('REFUSED', `${command} ${remotePath}: ${this.endpoint} answered ${reply} (temporary)`, { ...dd, transient: true });
      return new TransportError('REFUSED', `${command} ${remotePath}: refused by ${this.endpoint} (${reply})`, dd);
    }
    const err = e as NodeJS.ErrnoException;
    const msg = err.message ?? String(e);
    if (/timeout/i.test(msg)) return new TransportError('TIMEOUT', `${command} ${remotePath}: ${this.endpoint} timed out (${msg})`, d);
    if (command === 'login' && (err.code === 'ECONNREFUSED' || err.code === 'ENOTFOUND' || err.code === 'EHOSTUNREACH')) {
      return new TransportError('CONNECT', `cannot connect to ${this.endpoint}: ${err.code}; check the host and port (FTP is 21 on the platform)`, d);
    }
    return new TransportError('CONNECTION_LOST', `${command} ${remotePath}: the FTP session with ${this.endpoint} was lost (${msg})`, d);
  }

  async upload(source: Readable | UploadSource, remotePath: string, beforeChunk?: BeforeChunk): Promise<void> {
    try {
      // A file is written from reused buffers (ftp-stor.ts); any other source through basic-ftp's pipe.
      if (isUploadSource(source) && source.openReader) await storFromReader(this.c, remotePath, await source.openReader(), source.size, beforeChunk);
      else await this.c.uploadFrom(uploadStream(source, beforeChunk), remotePath);
    } catch (e) {
      throw this.fail(e, 'STOR', remotePath);
    }
  }

  async rename(from: string, to: string): Promise<void> {
    try {
      await this.c.rename(from, to);
    } catch (e) {
      throw this.fail(e, 'rename', `${from} -> ${to}`);
    }
  }

  async stat(remotePath: string): Promise<RemoteEntry | undefined> {
    // From the parent's listing: SIZE cannot tell a folder from a file, and some servers answer
    // it badly for an empty file (ftp-srv: "213 File status"); an ack is an empty file.
    const slash = remotePath.lastIndexOf('/');
    const dir = slash > 0 ? remotePath.slice(0, slash) : slash === 0 ? '/' : '.';
    const name = remotePath.slice(slash + 1);
    const entries = await this.list(dir).catch((e: TransportError) => {
      if (e.code === 'NOT_FOUND') return [];
      throw e;
    });
    return entries.find((x) => x.name === name);
  }

  async statSiblings(remoteDir: string, names: readonly string[]): Promise<(RemoteEntry | undefined)[]> {
    // FTP stats by listing the parent (see stat): one listing answers for every name (a data connection each saved).
    const entries = await this.list(remoteDir).catch((e: TransportError) => {
      if (e.code === 'NOT_FOUND') return [];
      throw e;
    });
    return names.map((n) => entries.find((x) => x.name === n));
  }

  async sizeOfUploaded(remotePath: string): Promise<number | undefined> {
    // SIZE answers on the control connection: the listing stat() reads needs a data connection of its own. A server
    // that answers SIZE with no number (ftp-srv for an empty file: "213 File status") or refuses it is asked by listing.
    try {
      const r = await this.c.send(`SIZE ${await this.c.protectWhitespace(remotePath)}`, true);
      const n = /^213 (\d+)\s*$/.exec(r.message)?.[1];
      if (r.code === 213 && n !== undefined) return Number(n);
    } catch (e) {
      throw this.fail(e, 'SIZE', remotePath);
    }
    return (await this.stat(remotePath))?.size;
  }

  async list(remoteDir: string): Promise<RemoteEntry[]> {
    try {
      const l = await this.c.list(remoteDir);
      return l.map((f) => ({
        name: f.name,
        size: f.size,
        type: f.isFile ? 'file' : f.isDirectory ? 'dir' : 'other',
        ...(f.modifiedAt ? { mtime: f.modifiedAt.getTime() } : {}),
      }));
    } catch (e) {
      throw this.fail(e, 'LIST', remoteDir);
    }
  }

  async download(remotePath: string, destination: Writable): Promise<number> {
    let bytes = 0;
    const counter = byteCounter((n) => {
      bytes = n;
    });
    try {
      await Promise.all([this.c.downloadTo(counter, remotePath), pipeline(counter, destination)]);
      return bytes;
    } catch (e) {
      throw this.fail(e, 'RETR', remotePath);
    }
  }

  async remove(remotePath: string): Promise<void> {
    try {
      await this.c.remove(remotePath);
    } catch (e) {
      throw this.fail(e, 'DELE', remotePath);
    }
  }

  async close(): Promise<void> {
    this.client?.close();
    this.client = undefined;
  }
}
