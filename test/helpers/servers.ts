/** In-process servers and transports for tests, on loopback, in temp folders. */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, type ResolvedConfig } from '../../src/config/config.js';
import { startFtpServer, type RunningFtpServer } from '../../src/simulator/ftp-server.js';
import { startSftpServer, type FileEvent, type RunningSftpServer } from '../../src/simulator/sftp-server.js';
import { createTransport } from '../../src/transport/connect.js';
import { silentLogger } from '../../src/transport/logger.js';
import type { Transport } from '../../src/transport/transport.js';

export const DMC_DIRS = ['in', 'in/processing', 'in/processed', 'in/failed', 'out', 'out/ack'];

export interface TestServer {
  readonly protocol: 'sftp' | 'ftp';
  readonly root: string;
  readonly events: FileEvent[];
  /** Called synchronously on each server event (to inject faults at an exact moment). */
  onEvent?: (e: FileEvent) => void;
  readonly config: ResolvedConfig;
  transport(overrides?: Partial<ResolvedConfig['transport']>): Transport;
  close(): Promise<void>;
  readonly sftp?: RunningSftpServer;
  readonly ftp?: RunningFtpServer;
}

/** Starts a server of the protocol over a fresh DMC account folder. */
export async function startTestServer(
  protocol: 'sftp' | 'ftp',
  opts: { timeouts?: Partial<ResolvedConfig['timeouts']>; retries?: Partial<ResolvedConfig['retries']> } = {},
): Promise<TestServer> {
  const base = mkdtempSync(join(tmpdir(), `dmc-${protocol}-`));
  const root = join(base, 'DMC_12345678');
  for (const d of DMC_DIRS) mkdirSync(join(root, d), { recursive: true });
  const events: FileEvent[] = [];
  // eslint-disable-next-line prefer-const
  let result: TestServer;
  const onEvent = (e: FileEvent): void => {
    events.push(e);
    result.onEvent?.(e);
  };
  let sftp: RunningSftpServer | undefined;
  let ftp: RunningFtpServer | undefined;
  let yaml: string;
  if (protocol === 'sftp') {
    sftp = await startSftpServer({ accounts: [{ username: 'dmc', password: 'secret-pw', root }], onEvent });
    yaml = `service: {serviceId: "12345678"}\ntransport: {protocol: sftp, host: 127.0.0.1, port: ${sftp.port}, username: dmc, password: "\${TEST_PW}", hostKey: "${sftp.fingerprint}"}\n`;
  } else {
    ftp = await startFtpServer({ accounts: [{ username: 'dmc', password: 'secret-pw', root }], onEvent });
    yaml = `service: {serviceId: "12345678"}\ntransport: {protocol: ftp, host: 127.0.0.1, port: ${ftp.port}, username: dmc, password: "\${TEST_PW}"}\n`;
  }
  const t = { connect: 5, idle: 10, transfer: 30, documentsTaken: 5, outcome: 5, poll: 0.05, ...opts.timeouts };
  const r = { attempts: 2, minDelay: 0.01, maxDelay: 0.05, ...opts.retries };
  yaml += `timeouts: ${JSON.stringify(t)}\nretries: ${JSON.stringify(r)}\nreports: {dir: "${join(base, 'reports')}"}\n`;
  const config = await parseConfig(yaml, join(base, 'config.yaml'), { TEST_PW: 'secret-pw' });
  result = {
    protocol,
    root,
    events,
    config,
    sftp,
    ftp,
    transport: (overrides = {}) => createTransport({ ...config, transport: { ...config.transport, ...overrides } }, silentLogger),
    close: async () => {
      await sftp?.close();
      await ftp?.close();
      rmSync(base, { recursive: true, force: true });
    },
  };
  return result;
}
