/**
 * A TCP fault proxy for the fault tests: the client connects to it, it
 * forwards to the server, and a test can, at any moment:
 * - `cut()`: destroy every connection at once (bytes in flight are lost);
 * - `refuseFor(ms)`: cut, then close every new connection at once (an outage);
 * - `blackHole(ms)`: forward nothing either way and connect nothing new for
 *   `ms` (a silent network: the client's own timeouts must end it), then
 *   deliver what was held, as TCP would after a stall;
 * - `hold(ms)`: hold only the server's bytes for `ms` (`stopHolding` ends it);
 * - `cutOnReply(command, reply)`: plain-text protocols (FTP): drop the server's
 *   reply to a command with every connection (the server did it, unheard).
 * Traffic stays on 127.0.0.1. Every connection is counted (`opened`).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

interface Pair {
  client: Socket;
  server?: Socket;
  held: { toServer: Buffer[]; toClient: Buffer[] };
  armed?: boolean;
}

export class FaultProxy {
  private server: Server | undefined;
  private readonly pairs = new Set<Pair>();
  private refuseUntil = 0;
  private blackUntil = 0;
  private holdUntil = 0;
  private releaseTimer: NodeJS.Timeout | undefined;
  port = 0;
  opened = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<number> {
    this.server = createServer((client) => this.accept(client));
    await new Promise<void>((res) => this.server!.listen(0, '127.0.0.1', () => res()));
    this.port = (this.server.address() as { port: number }).port;
    return this.port;
  }

  get connections(): number {
    return this.pairs.size;
  }

  private accept(client: Socket): void {
    this.opened++;
    if (Date.now() < this.refuseUntil) {
      client.destroy();
      return;
    }
    const pair: Pair = { client, held: { toServer: [], toClient: [] } };
    this.pairs.add(pair);
    const drop = (): void => {
      client.destroy();
      pair.server?.destroy();
      this.pairs.delete(pair);
    };
    client.on('error', drop).on('close', drop);
    client.on('data', (b: Buffer) => {
      if (this.cutOn && this.cutOn.command.test(b.toString('latin1'))) pair.armed = true;
      if (this.black() || !pair.server) pair.held.toServer.push(b);
      else pair.server.write(b);
    });
    const open = (): void => {
      if (client.destroyed) return;
      const server = connect({ host: this.target.host, port: this.target.port });
      pair.server = server;
      server.on('error', drop).on('close', drop);
      server.on('data', (b: Buffer) => {
        if (pair.armed && this.cutOn && this.cutOn.reply.test(b.toString('latin1'))) {
          // The server did it and says so: that reply is lost with the connection.
          const done = this.cutOn.done;
          this.cutOn = undefined;
          this.cut();
          done?.();
          return;
        }
        if (this.black() || Date.now() < this.holdUntil) pair.held.toClient.push(b);
        else client.write(b);
      });
      server.once('connect', () => {
        for (const b of pair.held.toServer.splice(0)) server.write(b);
      });
    };
    if (this.black()) setTimeout(open, this.blackUntil - Date.now()).unref();
    else open();
  }

  private black(): boolean {
    return Date.now() < this.blackUntil;
  }

  /** Destroys every connection now. */
  cut(): void {
    for (const p of [...this.pairs]) {
      p.client.destroy();
      p.server?.destroy();
    }
    this.pairs.clear();
  }

  /** An outage: every connection cut, new ones closed at once, for `ms`. */
  refuseFor(ms: number): void {
    this.refuseUntil = Date.now() + ms;
    this.cut();
  }

  /** A silent network for `ms`: nothing forwarded, nothing connected; then what was held is delivered. */
  blackHole(ms: number): void {
    this.blackUntil = Date.now() + ms;
    this.scheduleRelease(ms);
  }

  private cutOn: { command: RegExp; reply: RegExp; done?: () => void } | undefined;

  /**
   * For a plain-text protocol (FTP): after the client sends `command`, the
   * server's first reply matching `reply` is dropped and every connection cut
   * (the server executed the command; the client never learns it). Once.
   */
  cutOnReply(command: RegExp, reply: RegExp, done?: () => void): void {
    this.cutOn = { command, reply, ...(done ? { done } : {}) };
  }

  /** Ends every hold (what is held stays held on connections about to be cut). */
  stopHolding(): void {
    this.holdUntil = 0;
  }

  /** The server's bytes held for `ms`, then delivered. */
  hold(ms: number): void {
    this.holdUntil = Date.now() + ms;
    this.scheduleRelease(ms);
  }

  private scheduleRelease(ms: number): void {
    if (this.releaseTimer) clearTimeout(this.releaseTimer);
    this.releaseTimer = setTimeout(() => {
      for (const p of this.pairs) {
        if (p.server && !p.server.destroyed) for (const b of p.held.toServer.splice(0)) p.server.write(b);
        if (!p.client.destroyed) for (const b of p.held.toClient.splice(0)) p.client.write(b);
      }
    }, ms + 5);
    this.releaseTimer.unref();
  }

  async close(): Promise<void> {
    this.cut();
    if (this.releaseTimer) clearTimeout(this.releaseTimer);
    await new Promise<void>((res) => (this.server ? this.server.close(() => res()) : res()));
  }
}
