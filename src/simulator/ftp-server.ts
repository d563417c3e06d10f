/**
 * An FTP server that accepts active mode only (ftp-srv, PASV and EPSV
 * refused), serving a real folder per account, like the platform's FTP side.
 * Renames never replace an existing file; file operations are reported to
 * `onEvent` (same events as the SFTP server). ftp-srv connects back at PORT
 * time, so it cannot reveal ordering races: the vsftpd interop test does.
 */
import { stat } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import ftpsrv from 'ftp-srv';
import pino from 'pino';
import type { FileEvent, GatePoint, ServerGate } from './sftp-server.js';

const { FtpSrv, FileSystem } = ftpsrv as unknown as { FtpSrv: typeof import('ftp-srv').FtpSrv; FileSystem: typeof import('ftp-srv').FileSystem };

export interface FtpAccount {
  readonly username: string;
  readonly password: string;
  readonly root: string;
}

export interface FtpServerOptions {
  readonly host?: string;
  readonly port?: number;
  readonly accounts: readonly FtpAccount[];
  readonly onEvent?: (e: FileEvent) => void;
  readonly gate?: ServerGate;
}

export interface RunningFtpServer {
  readonly port: number;
  readonly host: string;
  /** Drops every client connection at once (fault tests). */
  dropConnections(): void;
  close(): Promise<void>;
}

export async function startFtpServer(opts: FtpServerOptions): Promise<RunningFtpServer> {
  const host = opts.host ?? '127.0.0.1';
  const onEvent = opts.onEvent;
  // Port 0 would be announced as 0: take a free port first.
  const port = opts.port ?? (await freePort(host));

  class ReportingFs extends FileSystem {
    constructor(
      connection: ConstructorParameters<typeof FileSystem>[0],
      o: { root: string; cwd: string },
      private readonly user: string,
    ) {
      super(connection, o);
    }
    private client(p: string): string {
      return (this as unknown as { _resolvePath(p: string): { clientPath: string } })._resolvePath(p).clientPath;
    }
    /** The fault tests' gate; `abort` fails the command (its reply never arrives: the connection is cut). */
    private gate(phase: GatePoint['phase'], op: GatePoint['op'], p: string): void {
      if (opts.gate?.({ phase, op, path: this.client(p), user: this.user }) === 'abort') throw new Error('aborted by the fault gate');
    }
    override write(fileName: string, o?: { append?: boolean; start?: unknown }): ReturnType<InstanceType<typeof FileSystem>['write']> {
      this.gate('before', 'write', fileName);
      const r = super.write(fileName, o as never) as { stream: NodeJS.WritableStream; clientPath: string };
      onEvent?.({ op: 'open-write', user: this.user, path: r.clientPath });
      const fsPath = (this as unknown as { _resolvePath(p: string): { fsPath: string } })._resolvePath(fileName).fsPath;
      // Before ftp-srv's own listener sends 226: the gate sees the file complete, its reply not yet sent.
      r.stream.once('finish', () => {
        try {
          this.gate('after', 'write', fileName);
        } catch {
          /* cut */
        }
        void stat(fsPath).then(
          (s) => {
            onEvent?.({ op: 'close-write', user: this.user, path: r.clientPath, size: s.size });
          },
          () => undefined,
        );
      });
      return r as never;
    }
    override async read(fileName: string, o?: { start?: unknown }): Promise<unknown> {
      this.gate('before', 'read', fileName);
      const r = await (super.read(fileName, o as never) as Promise<{ stream: NodeJS.ReadableStream } | NodeJS.ReadableStream>);
      const stream = 'stream' in r ? r.stream : r;
      stream.once('end', () => {
        try {
          this.gate('after', 'read', fileName);
        } catch {
          /* cut */
        }
      });
      return r;
    }
    override async list(path: string): Promise<unknown> {
      this.gate('before', 'list', path);
      const r = await super.list(path);
      this.gate('after', 'list', path);
      return r;
    }
    override async rename(from: string, to: string): Promise<unknown> {
      const self = this as unknown as { _resolvePath(p: string): { fsPath: string; clientPath: string } };
      const target = self._resolvePath(to);
      this.gate('before', 'rename', from);
      if (
        await stat(target.fsPath).then(
          () => true,
          () => false,
        )
      )
        throw new Error('target exists');
      await super.rename(from, to);
      onEvent?.({ op: 'rename', user: this.user, from: self._resolvePath(from).clientPath, to: target.clientPath });
      this.gate('after', 'rename', from);
      return undefined;
    }
    override async delete(path: string): Promise<unknown> {
      this.gate('before', 'remove', path);
      const r = await super.delete(path);
      onEvent?.({ op: 'remove', user: this.user, path: this.client(path) });
      this.gate('after', 'remove', path);
      return r;
    }
  }

  const server = new FtpSrv({
    url: `ftp://${host}:${port}`,
    anonymous: false,
    blacklist: ['PASV', 'EPSV'],
    greeting: 'DMC simulator FTP (active mode only)',
    log: pino({ level: 'silent' }),
  });
  server.on('login', ({ connection, username, password }, resolve, reject) => {
    const acc = opts.accounts.find((a) => a.username === username && a.password === password);
    if (!acc) return reject(new Error('Login incorrect'));
    resolve({ fs: new ReportingFs(connection, { root: acc.root, cwd: '/' }, username), blacklist: ['PASV', 'EPSV'] });
  });
  server.on('client-error', () => undefined);
  await server.listen();
  return {
    port,
    host,
    dropConnections() {
      const conns = (server as unknown as { connections: Record<string, { commandSocket?: { destroy(): void }; connector?: { end?(): unknown } }> })
        .connections;
      for (const c of Object.values(conns)) {
        c.connector?.end?.();
        c.commandSocket?.destroy();
      }
    },
    close: async () => {
      await server.close();
    },
  };
}

async function freePort(host: string): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}
