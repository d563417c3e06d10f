/**
 * A daemon on the simulator, for the tests of what runs around it (push
 * receiver, results files, console, metrics): one account, its command
 * files, its drop folders, the configuration written as a user would, and
 * the simulator pushing to the daemon's receiver when it has one.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, type ResolvedConfig } from '../../src/config/config.js';
import { Daemon, type DaemonOptions } from '../../src/daemon/daemon.js';
import { Simulator } from '../../src/simulator/simulator.js';
import { silentLogger } from '../../src/transport/logger.js';

/** An SMS command file; `broadcastName` and `spaceId` as given. */
export const smsCommand = (broadcastName: string, spaceId = '1'): string =>
  `serviceId: "12345678"\nspaceId: ${spaceId}\nbroadcastName: "${broadcastName}"\nscenarioId: 40\ncallPlanningId: 41\nmessages:\n  - customizableId: 10\n    multimediaType: TXT\n    text: Bonjour\n`;

export interface SimDaemonOptions {
  readonly seed: string;
  /** The account's SFTP password (default `pw`) and space. */
  readonly password?: string;
  readonly spaceId?: string;
  /** Command files: name → YAML. */
  readonly commands: Readonly<Record<string, string>>;
  /** `dropFolders` items as YAML flow mappings; their `path` folders are made. */
  readonly folders: readonly string[];
  /** More keys of the `daemon` section, as YAML lines (given the test's root folder, for paths in hooks). */
  readonly daemon?: readonly string[] | ((root: string) => readonly string[]);
  /** Top-level sections beyond service, transport and reports (`push: {...}`), as YAML lines. */
  readonly sections?: readonly string[];
  readonly timeouts?: string;
  readonly retries?: string;
  /** Posts per push of the simulator (default 100). */
  readonly pushBatch?: number;
  readonly events?: DaemonOptions;
}

export interface SimDaemon {
  readonly root: string;
  readonly sim: Simulator;
  readonly daemon: Daemon;
  readonly config: ResolvedConfig;
  /** The configuration file the daemon was started with. */
  readonly configPath: string;
  stop(): Promise<void>;
}

export async function startSimDaemon(o: SimDaemonOptions): Promise<SimDaemon> {
  const root = mkdtempSync(join(tmpdir(), `dmc-${o.seed}-`));
  const password = o.password ?? 'pw';
  const sim = new Simulator({
    root: join(root, 'sim'),
    accounts: [{ serviceId: '12345678', username: 'dmc', password, ...(o.spaceId ? { spaceId: o.spaceId } : {}) }],
    sftpPort: 0,
    interval: 0.3,
    seed: o.seed,
    autoReports: false,
  });
  await sim.start();
  for (const [name, yaml] of Object.entries(o.commands)) writeFileSync(join(root, name), yaml);
  for (const f of o.folders) mkdirSync(join(root, /path: ([^,}]+)/.exec(f)![1]!.trim()), { recursive: true });
  const text = [
    'service: {serviceId: "12345678"}',
    `transport: {protocol: sftp, host: 127.0.0.1, port: ${sim.sftp!.port}, username: dmc, password: ${password}, hostKey: "${sim.fingerprint}"}`,
    `timeouts: ${o.timeouts ?? '{connect: 5, documentsTaken: 10, outcome: 20, poll: 0.1}'}`,
    `retries: ${o.retries ?? '{attempts: 2, minDelay: 0.05, maxDelay: 0.2}'}`,
    'reports: {dir: reports}',
    ...(o.sections ?? []),
    'daemon:',
    '  journal: state/journal.db',
    '  stableSeconds: 0.3',
    '  rescanSeconds: 0.5',
    ...(typeof o.daemon === 'function' ? o.daemon(root) : (o.daemon ?? [])).map((l) => `  ${l}`),
    '  dropFolders:',
    ...o.folders.map((f) => `    - ${f}`),
  ].join('\n');
  const configPath = join(root, 'dmc.yaml');
  writeFileSync(configPath, text);
  const config = await parseConfig(text, configPath);
  const daemon = new Daemon(config, silentLogger, o.events ?? {});
  await daemon.start();
  if (daemon.pushOrigin) sim.setPush({ url: `${daemon.pushOrigin}${config.push!.path.reveal()}`, ...(o.pushBatch ? { batch: o.pushBatch } : {}) });
  return {
    root,
    sim,
    daemon,
    config,
    configPath,
    stop: async () => {
      await daemon.stop();
      await sim.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
