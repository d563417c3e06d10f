/**
 * Active-mode FTP for basic-ftp, which has none (its README: "Active Mode is
 * not supported"). The platform refuses passive mode.
 *
 * basic-ftp calls `prepareTransfer(ftp)` and then sends STOR/RETR/LIST at
 * once; `uploadFrom` reads `ftp.dataSocket` as soon as the 150/125 reply is
 * handled, `downloadTo` needs one set before the command. The server only
 * connects back after the command, and the 150 reply (control socket) and
 * the incoming connection (listener) are independent events: Node often
 * handles the 150 first (transport-pitfalls.md). So this strategy:
 *   1. listens (on the control connection's local address, in the configured
 *      port range), sends PORT (IPv4) or EPRT (IPv6) with the advertised
 *      address;
 *   2. installs an unconnected placeholder socket as `dataSocket`;
 *   3. wraps the next `ftp.handle()` once: a 150/125 reply, and every reply
 *      after it, is held until the data connection from the server's address
 *      is accepted; the real socket is then installed and the replies replayed
 *      in order. The listener closes on accept, on an error or on a 2xx reply,
 *      not on 350 (REST).
 * It relies on two internals (`FTPContext.handle`, the `dataSocket` setter):
 * basic-ftp is pinned to ~6.2 and the vsftpd interop test guards it.
 */
import { createServer, isIPv6, Socket, type Server } from 'node:net';
import type { FTPContext, FTPResponse } from 'basic-ftp';

export interface ActiveModeOptions {
  /** Address sent in PORT/EPRT (NAT); default: the control connection's local address. */
  readonly advertisedAddress?: string;
  /** Listening ports [low, high] (firewalls); default: any free port. */
  readonly portRange?: readonly [number, number];
  /** Time to wait for the server's data connection, ms. */
  readonly acceptTimeout: number;
}

type Handler = (res: Error | FTPResponse, task: { resolve: (v: unknown) => void; reject: (e: unknown) => void }) => void;
type Handle = (command: string | undefined, handler: Handler) => Promise<unknown>;

const unmap = (a: string | undefined): string => (a ?? '').replace(/^::ffff:/, '');

async function listen(host: string, range: readonly [number, number] | undefined): Promise<Server> {
  const tryPort = (port: number): Promise<Server> =>
    new Promise((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen({ host, port, exclusive: true }, () => {
        server.removeListener('error', reject);
        resolve(server);
      });
    });
  if (!range) return tryPort(0);
  const [lo, hi] = range;
  const span = hi - lo + 1;
  const start = Math.floor(Math.random() * span);
  for (let i = 0; i < span; i++) {
    try {
      return await tryPort(lo + ((start + i) % span));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
    }
  }
  throw new Error(`no free port in the active-mode range ${lo}-${hi}: widen transport.ftp.activePortRange`);
}

/** The PORT or EPRT command for an address and port. */
export function portCommand(address: string, port: number): string {
  const a = unmap(address);
  if (isIPv6(a)) return `EPRT |2|${a}|${port}|`;
  return `PORT ${a.split('.').join(',')},${Math.floor(port / 256)},${port % 256}`;
}

/** A basic-ftp transfer strategy for active mode. */
export function activeMode(opts: ActiveModeOptions): (ftp: FTPContext) => Promise<FTPResponse> {
  return async (ftp: FTPContext): Promise<FTPResponse> => {
    const control = ftp.socket;
    const serverIp = unmap(control.remoteAddress);
    const local = control.localAddress ?? '127.0.0.1';
    const server = await listen(local, opts.portRange);
    const port = (server.address() as { port: number }).port;
    let closed = false;
    const closeServer = (): void => {
      if (!closed) {
        closed = true;
        server.close();
      }
    };

    let onAccept: ((s: Socket) => void) | undefined;
    let accepted: Socket | undefined;
    server.on('connection', (s: Socket) => {
      if (accepted || unmap(s.remoteAddress) !== serverIp) {
        // Only the FTP server may connect, once (FTP bounce and port-stealing protection).
        s.destroy();
        return;
      }
      accepted = s;
      closeServer();
      onAccept?.(s);
    });

    let res: FTPResponse;
    try {
      res = await ftp.request(portCommand(opts.advertisedAddress ?? local, port));
    } catch (e) {
      closeServer();
      throw e;
    }

    // A placeholder so that downloadTo's check passes; replaced when the server connects.
    ftp.dataSocket = new Socket();
    const ctx = ftp as unknown as { handle: Handle };
    const original = ctx.handle;
    ctx.handle = function wrappedHandle(this: unknown, command, handler) {
      ctx.handle = original; // once
      const held: [FTPResponse, Parameters<Handler>[1]][] = [];
      let holding = false;
      let live = false;
      let timer: NodeJS.Timeout | undefined;
      const release = (s: Socket): void => {
        if (timer) clearTimeout(timer);
        ftp.dataSocket = s;
        live = true;
        for (const [r, t] of held.splice(0)) handler(r, t);
      };
      const wrapped: Handler = (r, task) => {
        if (live) return handler(r, task);
        if (r instanceof Error) {
          closeServer();
          if (timer) clearTimeout(timer);
          return handler(r, task);
        }
        if (r.code === 150 || r.code === 125 || holding) {
          if (accepted) return (release(accepted), handler(r, task));
          held.push([r, task]);
          if (!holding) {
            holding = true;
            onAccept = release;
            timer = setTimeout(() => {
              closeServer();
              handler(
                new Error(
                  `the FTP server did not open the active-mode data connection to ${opts.advertisedAddress ?? local}:${port} within ${opts.acceptTimeout} ms: check that the firewall lets it in (transport.ftp.activePortRange) and the advertised address (transport.ftp.activeAddress)`,
                ),
                task,
              );
            }, opts.acceptTimeout);
            timer.unref();
          }
          return;
        }
        if (r.code >= 200 && r.code < 300) closeServer();
        return handler(r, task);
      };
      return original.call(this, command, wrapped);
    };
    return res;
  };
}
