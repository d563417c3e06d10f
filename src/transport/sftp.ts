/**
 * SFTP transport (ssh2-sftp-client over ssh2). Port 2222 by default; password
 * or private key; the host key pinned (host-keys.ts); keepalive on;
 * TCP_NODELAY on the socket (without it a streamed upload crawls at ~2 MB/s
 * on loopback: transport-pitfalls.md); sequential writes by default.
 *
 * Every operation is bounded: a command by `timeouts.idle`, a transfer by
 * `timeouts.transfer`. When a bound passes, the connection is destroyed at
 * once (a silent server would otherwise hold the call until the SSH
 * keepalive gives up, a minute later) and the call fails with TIMEOUT.
 */
import { connect as netConnect, type Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import SftpClient from 'ssh2-sftp-client';
import type { ResolvedConfig } from '../config/config.js';
import { fingerprint, readKnownHosts, recordHostKey, verifyHostKey, type HostKeyVerdict } from './host-keys.js';
import {
  isUploadSource,
  remoteJoin,
  TransportError,
  uploadStream,
  type BeforeChunk,
  type RemoteEntry,
  type Transport,
  type UploadSource,
} from './transport.js';
import type { Logger } from './logger.js';
import { counted } from './byte-counter.js';
import { PipelinedSftpWriter, reuseSafePiece, uploadFromReader, type ReaderUpload } from './sftp-writer.js';

export interface SftpOptions {
  readonly transport: ResolvedConfig['transport'];
  readonly timeouts: ResolvedConfig['timeouts'];
  readonly logger: Logger;
}

export class SftpTransport implements Transport {
  readonly protocol = 'sftp' as const;
  readonly endpoint: string;
  private client: SftpClient | undefined;
  private sessionError: Error | undefined;
  /** Streams in flight: ssh2 does not fail them when the session dies, so the close path does. */
  private readonly streams = new Set<{ destroy(e?: Error): void }>();
  private rejected: HostKeyVerdict | undefined;
  private sock: Socket | undefined;

  constructor(private readonly opts: SftpOptions) {
    this.endpoint = `${opts.transport.host}:${opts.transport.port}`;
  }

  async connect(): Promise<void> {
    const t = this.opts.transport;
    const log = this.opts.logger;
    const knownHosts = t.knownHosts ? await readKnownHosts(t.knownHosts) : undefined;
    let accepted: Buffer | undefined;
    this.rejected = undefined;
    this.sessionError = undefined;
    const hostVerifier = (key: Buffer): boolean => {
      const v = verifyHostKey(key, { host: t.host, port: t.port, pinned: t.hostKeys, ...(knownHosts !== undefined ? { knownHosts } : {}) });
      if (v.ok) {
        log.debug({ hostKey: v.how }, 'host key verified');
        return true;
      }
      if (v.reason === 'unknown' && t.acceptNewHostKey && t.knownHosts) {
        accepted = key;
        return true;
      }
      this.rejected = v;
      return false;
    };
    const sock = await this.openSocket();
    this.sock = sock;
    // The library's default handlers print to the console; ours keep the first cause of a dead session.
    const client = new SftpClient('dmc', {
      error: (e) => {
        this.sessionError ??= e;
        this.abortStreams();
      },
      end: () => {
        this.abortStreams();
      },
      close: () => {
        this.abortStreams();
      },
    });
    try {
      await client.connect({
        sock,
        host: t.host,
        port: t.port,
        username: t.username,
        ...(t.password ? { password: t.password.reveal() } : {}),
        ...(t.privateKey ? { privateKey: t.privateKey.reveal() } : {}),
        ...(t.passphrase ? { passphrase: t.passphrase.reveal() } : {}),
        hostVerifier,
        readyTimeout: this.opts.timeouts.connect * 1000,
        keepaliveInterval: 15_000,
        keepaliveCountMax: 4,
      });
    } catch (e) {
      sock.destroy();
      throw this.connectError(e);
    }
    if (accepted && t.knownHosts) {
      await recordHostKey(t.knownHosts, t.host, t.port, accepted);
      log.warn({ host: this.endpoint, fingerprint: fingerprint(accepted), knownHosts: t.knownHosts }, 'new host key accepted and recorded (acceptNewHostKey)');
    }
    this.client = client;
    log.info({ host: this.endpoint, user: t.username }, 'sftp connected');
  }

  private openSocket(): Promise<Socket> {
    const t = this.opts.transport;
    return new Promise((resolve, reject) => {
      const sock = netConnect({ host: t.host, port: t.port });
      const timer = setTimeout(() => {
        sock.destroy();
        reject(
          new TransportError(
            'TIMEOUT',
            `no answer from ${this.endpoint} within ${this.opts.timeouts.connect} s: check the host, the port (SFTP is 2222 on the platform) and the firewall`,
            { protocol: 'sftp' },
          ),
        );
      }, this.opts.timeouts.connect * 1000);
      timer.unref();
      sock.once('connect', () => {
        clearTimeout(timer);
        sock.setNoDelay(true);
        resolve(sock);
      });
      sock.once('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(
          new TransportError('CONNECT', `cannot connect to ${this.endpoint}: ${e.code ?? e.message}; check the host and port (SFTP is 2222 on the platform)`, {
            protocol: 'sftp',
            cause: e,
          }),
        );
      });
    });
  }

  /** Fails every stream in flight: the session under it is gone (one close path, first cause kept). */
  private abortStreams(): void {
    this.sessionError ??= new Error('connection closed');
    const err = new TransportError('CONNECTION_LOST', `the SFTP session with ${this.endpoint} was lost (${this.sessionError.message})`, {
      protocol: 'sftp',
      cause: this.sessionError,
    });
    for (const s of this.streams) s.destroy(err);
    this.streams.clear();
  }

  /**
   * `work`, or TIMEOUT after `seconds`: then the connection is destroyed at
   * once, so nothing of it lingers (its streams fail, its socket closes).
   */
  private async bounded<T>(work: Promise<T>, seconds: number, what: string, key: 'idle' | 'transfer'): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_res, reject) => {
      timer = setTimeout(() => {
        const err = new TransportError(
          'TIMEOUT',
          `${what}: no answer from ${this.endpoint} within ${seconds} s (timeouts.${key}); the connection was dropped`,
          { protocol: 'sftp' },
        );
        this.sessionError ??= err;
        this.abortStreams();
        this.sock?.destroy();
        reject(err);
      }, seconds * 1000);
      timer.unref();
    });
    work.catch(() => undefined);
    try {
      return await Promise.race([work, expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** A command (stat, rename, list, remove), bounded by timeouts.idle. */
  private command<T>(work: Promise<T>, what: string): Promise<T> {
    return this.bounded(work, this.opts.timeouts.idle, what, 'idle');
  }

  /** Runs an upload from a file reader, tracked as a stream is and bounded by the transfer timeout. */
  private async tracked(start: () => ReaderUpload, what: string): Promise<void> {
    if (this.sessionError)
      throw new TransportError('CONNECTION_LOST', `the SFTP session with ${this.endpoint} was lost (${this.sessionError.message})`, { protocol: 'sftp' });
    const upload = start();
    this.streams.add(upload);
    try {
      await this.bounded(upload.done, this.opts.timeouts.transfer, what, 'transfer');
    } finally {
      this.streams.delete(upload);
    }
  }

  /** Runs a pipeline with its streams tracked and bounded by the transfer timeout. */
  private async transfer(streams: [NodeJS.ReadableStream, NodeJS.WritableStream], what: string): Promise<void> {
    const [a, b] = streams as unknown as [{ destroy(e?: Error): void }, { destroy(e?: Error): void }];
    this.streams.add(a);
    this.streams.add(b);
    try {
      if (this.sessionError)
        throw new TransportError('CONNECTION_LOST', `the SFTP session with ${this.endpoint} was lost (${this.sessionError.message})`, { protocol: 'sftp' });
      await this.bounded(pipeline(streams[0], streams[1]), this.opts.timeouts.transfer, what, 'transfer');
    } finally {
      this.streams.delete(a);
      this.streams.delete(b);
    }
  }

  private connectError(e: unknown): TransportError {
    const t = this.opts.transport;
    if (this.rejected && !this.rejected.ok) {
      const v = this.rejected;
      const pin = `transport:\n  hostKey: "${v.fingerprint}"`;
      if (v.reason === 'unknown') {
        return new TransportError(
          'HOST_KEY_UNKNOWN',
          `the SFTP server ${this.endpoint} presented a ${v.type} host key ${v.fingerprint}, which is not pinned: connection refused. Check this fingerprint with the platform (or ssh-keyscan -p ${t.port} ${t.host} | ssh-keygen -lf -), then pin it in the config:\n${pin}`,
          { protocol: 'sftp' },
        );
      }
      if (v.reason === 'revoked')
        return new TransportError('HOST_KEY_MISMATCH', `the SFTP server ${this.endpoint} presented a revoked host key ${v.fingerprint}: connection refused`, {
          protocol: 'sftp',
        });
      return new TransportError(
        'HOST_KEY_MISMATCH',
        `HOST KEY CHANGED: the SFTP server ${this.endpoint} presented ${v.type} ${v.fingerprint}, which differs from the pinned key(s). Someone may be intercepting the connection, or the server was reinstalled: check with the platform before you pin the new key:\n${pin}`,
        { protocol: 'sftp' },
      );
    }
    const msg = e instanceof Error ? e.message : String(e);
    if (/authentication/i.test(msg))
      return new TransportError('AUTH', `login refused by ${this.endpoint} for user '${t.username}': check the username and the password or key`, {
        protocol: 'sftp',
        cause: e,
      });
    if (/timed out/i.test(msg))
      return new TransportError('TIMEOUT', `the SSH handshake with ${this.endpoint} did not finish within ${this.opts.timeouts.connect} s`, {
        protocol: 'sftp',
        cause: e,
      });
    return new TransportError('CONNECT', `cannot open an SFTP session on ${this.endpoint}: ${msg}`, { protocol: 'sftp', cause: e });
  }

  private get c(): SftpClient {
    if (!this.client) throw new TransportError('CONNECTION_LOST', `not connected to ${this.endpoint}`, { protocol: 'sftp' });
    return this.client;
  }

  /** Maps an SFTP failure: server refusals by their status, the rest as a lost session (first cause kept). */
  private fail(e: unknown, command: string, remotePath: string): TransportError {
    if (e instanceof TransportError) return e;
    const err = e as { code?: number | string; message?: string };
    const msg = err.message ?? String(e);
    const cause = this.sessionError ?? e;
    const d = { protocol: 'sftp' as const, command, remotePath, reply: msg, cause };
    if (err.code === 2 || /no such file/i.test(msg)) return new TransportError('NOT_FOUND', `${remotePath}: no such file on ${this.endpoint}`, d);
    if (err.code === 3 || /permission denied/i.test(msg))
      return new TransportError('PERMISSION', `${command} ${remotePath}: permission denied by ${this.endpoint}`, d);
    if (this.sessionError || /not connected|no sftp connection|connection lost|unexpected (end|close|error) event|ECONNRESET|EPIPE|closed/i.test(msg)) {
      return new TransportError(
        'CONNECTION_LOST',
        `${command} ${remotePath}: the SFTP session with ${this.endpoint} was lost (${(this.sessionError ?? err).message ?? msg})`,
        d,
      );
    }
    return new TransportError('REFUSED', `${command} ${remotePath}: refused by ${this.endpoint}: ${msg}`, d);
  }

  async statSiblings(remoteDir: string, names: readonly string[]): Promise<(RemoteEntry | undefined)[]> {
    const out: (RemoteEntry | undefined)[] = [];
    for (const n of names) out.push(await this.stat(remoteJoin(remoteDir, n)));
    return out;
  }

  async sizeOfUploaded(remotePath: string): Promise<number | undefined> {
    return (await this.stat(remotePath))?.size;
  }

  async upload(source: Readable | UploadSource, remotePath: string, beforeChunk?: BeforeChunk): Promise<void> {
    try {
      if (isUploadSource(source) && source.openReader && reuseSafePiece(this.c.sftp) !== undefined) {
        const reader = await source.openReader();
        try {
          await this.tracked(() => uploadFromReader(this.c.sftp, remotePath, reader, beforeChunk), `upload of ${remotePath}`);
        } finally {
          await reader.close().catch(() => undefined);
        }
      } else await this.transfer([uploadStream(source, beforeChunk), new PipelinedSftpWriter(this.c.sftp, remotePath)], `upload of ${remotePath}`);
    } catch (e) {
      throw this.fail(e, 'put', remotePath);
    }
  }

  async rename(from: string, to: string): Promise<void> {
    try {
      await this.command(this.c.rename(from, to), `rename ${from}`);
    } catch (e) {
      throw this.fail(e, 'rename', `${from} -> ${to}`);
    }
  }

  async stat(remotePath: string): Promise<RemoteEntry | undefined> {
    try {
      const s = await this.command(this.c.stat(remotePath), `stat ${remotePath}`);
      return { name: remotePath.split('/').pop() ?? remotePath, size: s.size, type: s.isFile ? 'file' : s.isDirectory ? 'dir' : 'other', mtime: s.modifyTime };
    } catch (e) {
      const f = this.fail(e, 'stat', remotePath);
      if (f.code === 'NOT_FOUND') return undefined;
      throw f;
    }
  }

  async list(remoteDir: string): Promise<RemoteEntry[]> {
    try {
      const l = await this.command(this.c.list(remoteDir), `list ${remoteDir}`);
      return l.map((f) => ({ name: f.name, size: f.size, type: f.type === '-' ? 'file' : f.type === 'd' ? 'dir' : 'other', mtime: f.modifyTime }));
    } catch (e) {
      throw this.fail(e, 'list', remoteDir);
    }
  }

  async download(remotePath: string, destination: Writable): Promise<number> {
    let bytes = 0;
    try {
      const src = counted(this.c.createReadStream(remotePath), (n) => {
        bytes = n;
      });
      await this.transfer([src, destination], `download of ${remotePath}`);
      return bytes;
    } catch (e) {
      throw this.fail(e, 'get', remotePath);
    }
  }

  async remove(remotePath: string): Promise<void> {
    try {
      await this.command(this.c.delete(remotePath), `delete ${remotePath}`);
    } catch (e) {
      throw this.fail(e, 'delete', remotePath);
    }
  }

  /** Ends the session; never waits more than 2 s (a dead connection may never report its end). */
  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    if (!c) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      c.end().catch(() => undefined),
      new Promise<void>((res) => {
        timer = setTimeout(res, 2000);
        timer.unref();
      }),
    ]);
    if (timer) clearTimeout(timer);
    (c.client as unknown as { destroy?: () => void }).destroy?.();
    this.sock?.destroy();
    this.sock = undefined;
  }
}
