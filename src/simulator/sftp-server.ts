/**
 * An SFTP server (ssh2's Server) serving a real folder per account: what the
 * simulator and the tests connect to. Paths are confined to the account's
 * root; renames never replace an existing file (as OpenSSH's sftp-server);
 * every file operation is reported to `onEvent`, so a test or the simulator
 * can check the exact sequence (documents before trigger, no final name
 * before complete content).
 */
import { constants as fsc } from 'node:fs';
import { mkdir, open, readdir, rename, rm, rmdir, stat, type FileHandle } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { posix, resolve, sep } from 'node:path';
import { timingSafeEqual } from 'node:crypto';
import ssh2 from 'ssh2';
import type { Attributes, Connection, ServerConfig } from 'ssh2';
import { fingerprint } from '../transport/host-keys.js';

const { Server, utils } = ssh2;
const { STATUS_CODE, OPEN_MODE } = utils.sftp;

export interface SftpAccount {
  readonly username: string;
  readonly password?: string;
  /** Authorized public keys (OpenSSH format). */
  readonly publicKeys?: readonly string[];
  /** Folder served as `/`. */
  readonly root: string;
}

export type FileEvent =
  | { op: 'open-write'; user: string; path: string }
  | { op: 'close-write'; user: string; path: string; size: number }
  | { op: 'rename'; user: string; from: string; to: string }
  | { op: 'remove'; user: string; path: string }
  | { op: 'read'; user: string; path: string };

/**
 * A file operation about to run (`before`) or just done, its reply not yet
 * sent (`after`). Fault tests cut the connection at such a point; `abort`
 * at `before` skips the operation (no reply either: the connection is gone).
 */
export interface GatePoint {
  readonly phase: 'before' | 'after';
  readonly op: 'write' | 'rename' | 'list' | 'read' | 'remove';
  readonly path: string;
  readonly user: string;
}
export type ServerGate = (p: GatePoint) => 'abort' | void;

export interface SftpServerOptions {
  readonly host?: string;
  readonly port?: number;
  /** Private host key (PEM or OpenSSH); generated when absent. */
  readonly hostKey?: string;
  readonly accounts: readonly SftpAccount[];
  readonly onEvent?: (e: FileEvent) => void;
  readonly gate?: ServerGate;
}

export interface RunningSftpServer {
  readonly port: number;
  readonly host: string;
  /** `SHA256:...` of the host key, for the client config. */
  readonly fingerprint: string;
  /** Drops every client connection at once (fault tests). */
  dropConnections(): void;
  close(): Promise<void>;
}

/**
 * A fresh ed25519 host key (OpenSSH format). ssh2's generator writes a key
 * its own parser refuses about 3 times in 1,000 ("Malformed OpenSSH private
 * key", measured here): a key is kept only once it parses.
 */
export function generateHostKey(): string {
  for (let attempt = 0; attempt < 20; attempt++) {
    const key = utils.generateKeyPairSync('ed25519').private;
    if (!(utils.parseKey(key) instanceof Error)) return key;
  }
  throw new Error('could not generate a host key that parses (ssh2)');
}

const eq = (a: string, b: string): boolean => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

export async function startSftpServer(opts: SftpServerOptions): Promise<RunningSftpServer> {
  const hostKey = opts.hostKey ?? generateHostKey();
  const parsed = utils.parseKey(hostKey);
  if (parsed instanceof Error) throw parsed;
  const key = Array.isArray(parsed) ? parsed[0]! : parsed;
  const fp = fingerprint(key.getPublicSSH() as Buffer);
  const clients = new Set<Connection>();
  const config: ServerConfig = { hostKeys: [hostKey] };

  const server = new Server(config, (client) => {
    clients.add(client);
    client.on('close', () => clients.delete(client));
    client.on('error', () => undefined);
    let account: SftpAccount | undefined;
    client.on('authentication', (ctx) => {
      const acc = opts.accounts.find((a) => a.username === ctx.username);
      if (acc && ctx.method === 'password' && acc.password !== undefined && eq(ctx.password, acc.password)) {
        account = acc;
        return ctx.accept();
      }
      if (acc && ctx.method === 'publickey' && acc.publicKeys) {
        for (const pk of acc.publicKeys) {
          const p = utils.parseKey(pk);
          const k = Array.isArray(p) ? p[0] : p;
          if (!k || k instanceof Error) continue;
          if (ctx.key.algo === k.type && Buffer.compare(ctx.key.data, k.getPublicSSH() as Buffer) === 0) {
            if (!ctx.signature || (ctx.blob && k.verify(ctx.blob, ctx.signature, ctx.hashAlgo) === true)) {
              account = acc;
              return ctx.accept();
            }
          }
        }
      }
      return ctx.reject(['password', 'publickey']);
    });
    client.on('ready', () => {
      client.on('session', (accept) => {
        const session = accept();
        session.on('sftp', (acceptSftp) => {
          if (!account) return;
          serveFolder(acceptSftp(), account, opts.onEvent, opts.gate);
        });
      });
    });
  });

  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.removeListener('error', rej);
      res();
    });
  });
  const addr = server.address() as AddressInfo;
  return {
    port: addr.port,
    host: addr.address,
    fingerprint: fp,
    dropConnections() {
      for (const c of clients) c.end();
      for (const c of clients) (c as unknown as { _sock?: { destroy(): void } })._sock?.destroy();
    },
    close: () =>
      new Promise<void>((res) => {
        for (const c of clients) c.end();
        server.close(() => res());
      }),
  };
}

function serveFolder(sftp: ssh2.SFTPWrapper, account: SftpAccount, onEvent: SftpServerOptions['onEvent'], gateFn?: ServerGate): void {
  const root = resolve(account.root);
  const user = account.username;
  const gate = (phase: GatePoint['phase'], op: GatePoint['op'], path: string): boolean =>
    gateFn?.({ phase, op, path: posix.normalize(`/${path}`), user }) === 'abort';
  const handles = new Map<number, { fh?: FileHandle; path: string; writing: boolean; dir?: string[] | undefined; size: number }>();
  let nextHandle = 1;
  // A client gone without CLOSE (a cut connection) leaves its files open: the server closes them (never the GC).
  sftp.once('close', () => {
    for (const h of handles.values()) void h.fh?.close().catch(() => undefined);
    handles.clear();
  });
  const toLocal = (p: string): string | undefined => {
    const norm = posix.normalize(`/${p}`);
    const local = resolve(root, `.${norm}`);
    return local === root || local.startsWith(root + sep) ? local : undefined;
  };
  const rel = (p: string): string => posix.normalize(`/${p}`);
  // A request answered after its client left throws: nothing is left to answer, and it must not end the process.
  const safely =
    <A extends unknown[]>(fn: (...a: A) => Promise<unknown>) =>
    (...a: A): void => {
      fn(...a).catch(() => undefined);
    };
  const handleBuf = (n: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  const handleOf = (b: Buffer): number => (b.length === 4 ? b.readUInt32BE(0) : -1);
  const attrs = (s: { mode: number; size: number; uid: number; gid: number; atimeMs: number; mtimeMs: number }): Attributes => ({
    mode: s.mode,
    size: s.size,
    uid: s.uid,
    gid: s.gid,
    atime: Math.floor(s.atimeMs / 1000),
    mtime: Math.floor(s.mtimeMs / 1000),
  });
  const code = (e: unknown): number => {
    const c = (e as NodeJS.ErrnoException).code;
    return c === 'ENOENT' ? STATUS_CODE.NO_SUCH_FILE : c === 'EACCES' || c === 'EPERM' ? STATUS_CODE.PERMISSION_DENIED : STATUS_CODE.FAILURE;
  };

  sftp.on('REALPATH', (id, p) => {
    const r = rel(p === '.' || p === '' ? '/' : p);
    sftp.name(id, [{ filename: r, longname: r, attrs: {} as Attributes }]);
  });
  sftp.on(
    'OPEN',
    safely(async (id, p, flags) => {
      const local = toLocal(p);
      if (!local) return sftp.status(id, STATUS_CODE.PERMISSION_DENIED);
      const writing = (flags & OPEN_MODE.WRITE) !== 0;
      if (gate('before', writing ? 'write' : 'read', p)) return;
      let mode = writing ? fsc.O_WRONLY : fsc.O_RDONLY;
      if (flags & OPEN_MODE.READ && writing) mode = fsc.O_RDWR;
      if (flags & OPEN_MODE.CREAT) mode |= fsc.O_CREAT;
      if (flags & OPEN_MODE.TRUNC) mode |= fsc.O_TRUNC;
      if (flags & OPEN_MODE.EXCL) mode |= fsc.O_EXCL;
      if (flags & OPEN_MODE.APPEND) mode |= fsc.O_APPEND;
      try {
        const fh = await open(local, mode, 0o644);
        const n = nextHandle++;
        handles.set(n, { fh, path: rel(p), writing, size: 0 });
        if (writing) onEvent?.({ op: 'open-write', user, path: rel(p) });
        else onEvent?.({ op: 'read', user, path: rel(p) });
        sftp.handle(id, handleBuf(n));
      } catch (e) {
        sftp.status(id, code(e));
      }
    }),
  );
  sftp.on(
    'WRITE',
    safely(async (id, h, offset, data) => {
      const entry = handles.get(handleOf(h));
      if (!entry?.fh) return sftp.status(id, STATUS_CODE.FAILURE);
      try {
        await entry.fh.write(data, 0, data.length, offset);
        entry.size = Math.max(entry.size, offset + data.length);
        sftp.status(id, STATUS_CODE.OK);
      } catch (e) {
        sftp.status(id, code(e));
      }
    }),
  );
  sftp.on(
    'READ',
    safely(async (id, h, offset, length) => {
      const entry = handles.get(handleOf(h));
      if (!entry?.fh) return sftp.status(id, STATUS_CODE.FAILURE);
      try {
        const buf = Buffer.alloc(Math.min(length, 256 * 1024));
        const { bytesRead } = await entry.fh.read(buf, 0, buf.length, offset);
        if (bytesRead === 0) {
          gate('after', 'read', entry.path);
          return sftp.status(id, STATUS_CODE.EOF);
        }
        sftp.data(id, buf.subarray(0, bytesRead));
      } catch (e) {
        sftp.status(id, code(e));
      }
    }),
  );
  sftp.on(
    'CLOSE',
    safely(async (id, h) => {
      const n = handleOf(h);
      const entry = handles.get(n);
      handles.delete(n);
      if (!entry) return sftp.status(id, STATUS_CODE.FAILURE);
      try {
        if (entry.fh) {
          const s = await entry.fh.stat();
          await entry.fh.close();
          if (entry.writing) {
            onEvent?.({ op: 'close-write', user, path: entry.path, size: s.size });
            gate('after', 'write', entry.path);
          }
        }
        sftp.status(id, STATUS_CODE.OK);
      } catch (e) {
        sftp.status(id, code(e));
      }
    }),
  );
  const doStat = async (id: number, p: string): Promise<void> => {
    const local = toLocal(p);
    if (!local) return void sftp.status(id, STATUS_CODE.PERMISSION_DENIED);
    try {
      sftp.attrs(id, attrs(await stat(local)));
    } catch (e) {
      sftp.status(id, code(e));
    }
  };
  sftp.on('STAT', safely(doStat));
  sftp.on('LSTAT', safely(doStat));
  sftp.on(
    'FSTAT',
    safely(async (id, h) => {
      const entry = handles.get(handleOf(h));
      if (!entry?.fh) return sftp.status(id, STATUS_CODE.FAILURE);
      try {
        sftp.attrs(id, attrs(await entry.fh.stat()));
      } catch (e) {
        sftp.status(id, code(e));
      }
    }),
  );
  sftp.on('SETSTAT', (id) => sftp.status(id, STATUS_CODE.OK));
  sftp.on('FSETSTAT', (id) => sftp.status(id, STATUS_CODE.OK));
  sftp.on(
    'OPENDIR',
    safely(async (id, p) => {
      const local = toLocal(p);
      if (!local) return sftp.status(id, STATUS_CODE.PERMISSION_DENIED);
      if (gate('before', 'list', p)) return;
      try {
        const names = await readdir(local);
        const n = nextHandle++;
        handles.set(n, { path: rel(p), writing: false, dir: names, size: 0 });
        sftp.handle(id, handleBuf(n));
      } catch (e) {
        sftp.status(id, code(e));
      }
    }),
  );
  sftp.on(
    'READDIR',
    safely(async (id, h) => {
      const entry = handles.get(handleOf(h));
      if (!entry?.dir) return sftp.status(id, STATUS_CODE.FAILURE);
      if (entry.dir.length === 0) {
        gate('after', 'list', entry.path);
        return sftp.status(id, STATUS_CODE.EOF);
      }
      const batch = entry.dir.splice(0, 100);
      const base = toLocal(entry.path)!;
      const out: { filename: string; longname: string; attrs: Attributes }[] = [];
      for (const name of batch) {
        try {
          const s = await stat(resolve(base, name));
          const type = s.isDirectory() ? 'd' : '-';
          out.push({ filename: name, longname: `${type}rw-r--r-- 1 dmc dmc ${s.size} Jan 1 00:00 ${name}`, attrs: attrs(s) });
        } catch {
          /* vanished meanwhile */
        }
      }
      sftp.name(id, out);
    }),
  );
  sftp.on(
    'RENAME',
    safely(async (id, from, to) => {
      const a = toLocal(from);
      const b = toLocal(to);
      if (!a || !b) return sftp.status(id, STATUS_CODE.PERMISSION_DENIED);
      if (gate('before', 'rename', from)) return;
      try {
        // As OpenSSH's sftp-server: a rename never replaces an existing file.
        const exists = await stat(b).then(
          () => true,
          () => false,
        );
        if (exists) return sftp.status(id, STATUS_CODE.FAILURE, 'target exists');
        await rename(a, b);
        onEvent?.({ op: 'rename', user, from: rel(from), to: rel(to) });
        gate('after', 'rename', from);
        sftp.status(id, STATUS_CODE.OK);
      } catch (e) {
        sftp.status(id, code(e));
      }
    }),
  );
  sftp.on(
    'REMOVE',
    safely(async (id, p) => {
      const local = toLocal(p);
      if (!local) return sftp.status(id, STATUS_CODE.PERMISSION_DENIED);
      if (gate('before', 'remove', p)) return;
      try {
        await rm(local);
        onEvent?.({ op: 'remove', user, path: rel(p) });
        gate('after', 'remove', p);
        sftp.status(id, STATUS_CODE.OK);
      } catch (e) {
        sftp.status(id, code(e));
      }
    }),
  );
  sftp.on(
    'MKDIR',
    safely(async (id, p) => {
      const local = toLocal(p);
      if (!local) return sftp.status(id, STATUS_CODE.PERMISSION_DENIED);
      try {
        await mkdir(local);
        sftp.status(id, STATUS_CODE.OK);
      } catch (e) {
        sftp.status(id, code(e));
      }
    }),
  );
  sftp.on(
    'RMDIR',
    safely(async (id, p) => {
      const local = toLocal(p);
      if (!local) return sftp.status(id, STATUS_CODE.PERMISSION_DENIED);
      try {
        await rmdir(local);
        sftp.status(id, STATUS_CODE.OK);
      } catch (e) {
        sftp.status(id, code(e));
      }
    }),
  );
}
