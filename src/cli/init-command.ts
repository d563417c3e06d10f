/**
 * `dmc-trigger init`: the one step between a clone and the README's
 * commands. It writes `dmc.yaml` pointed at a running local simulator (its
 * host key pinned, its password in the simulator's 0600 file), a drop
 * folder and a command file for the daemon, so that every command of the
 * README runs as written; then the user puts in their account's values
 * (docs/operations.md, "From the sandbox to a real account").
 */
import { constants } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { EXIT, UsageError, type Io } from './output.js';

export interface InitCliOptions {
  simulator?: string;
  force?: boolean;
  /** Write the several-accounts shape: one entry per account of the simulator (issue #21). */
  accounts?: boolean;
}

const TEMPLATES = new URL('../../templates/', import.meta.url);

export async function runInit(opts: InitCliOptions, io: Io): Promise<number> {
  if (opts.accounts) return runInitAccounts(opts, io);
  const root = resolve(opts.simulator ?? 'var/simulator');
  const clientPath = join(root, 'clients', 'dmc-sftp.yaml');
  const client = await readFile(clientPath, 'utf8').catch(() => {
    throw new UsageError(
      `no simulator client configuration at ${clientPath}: start the local platform first, in another terminal: npx dmc-trigger simulator --interval 2 --report-every 10 (README, "Use"); or name its --root with --simulator`,
    );
  });
  const flag = opts.force ? 'w' : 'wx';
  const text = [
    '# dmc-trigger configuration, written by `dmc-trigger init` (every key: docs/config.md).',
    `# It points at the local DMC simulator (${root}), whose host key is pinned below.`,
    '# For a real account, put in its values (docs/operations.md, "From the sandbox to a real account"):',
    '#   service.serviceId; transport.host, port (SFTP: 2222), username, passwordFile (a 0600 file),',
    '#   and hostKey (dmc-trigger prints the server key fingerprint when it does not match: pin it here).',
    ...client
      .split('\n')
      .filter((l) => !l.startsWith('#'))
      .filter((l) => l.trim() !== ''),
    'reports: {dir: reports}              # where reports fetch and the daemon put the daily reports',
    'daemon:',
    '  journal: state/journal.db          # what was sent and when: keep it with the drop folders',
    '  dropFolders:',
    '    - {path: drop/sms, command: commands/sms.yaml}   # an SI export dropped here goes out as an SMS broadcast',
    '',
  ].join('\n');
  try {
    await writeFile('dmc.yaml', text, { flag, mode: 0o644 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST')
      throw new UsageError('dmc.yaml exists already: keep it, or run dmc-trigger init --force to write it again');
    throw e;
  }
  await mkdir('commands', { recursive: true });
  await copyFile(new URL('sms.yaml', TEMPLATES), 'commands/sms.yaml', opts.force ? 0 : constants.COPYFILE_EXCL).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'EEXIST') throw e;
  });
  for (const dir of ['drop/sms', 'reports', 'state', 'out']) await mkdir(dir, { recursive: true });
  io.out(`wrote dmc.yaml (the simulator at ${root}, host key pinned), commands/sms.yaml, and drop/sms/, reports/, state/, out/`);
  io.out('next: the commands of the README ("Use"), e.g. npx dmc-trigger send out/fax.csv --document samples/documents/TESTFAX.pdf --config dmc.yaml --wait');
  return EXIT.OK;
}

/** Writes dmc.yaml, or says it exists (without --force). */
async function writeConfig(text: string, force: boolean | undefined): Promise<void> {
  try {
    await writeFile('dmc.yaml', text, { flag: force ? 'w' : 'wx', mode: 0o644 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST')
      throw new UsageError('dmc.yaml exists already: keep it, or run dmc-trigger init --force to write it again');
    throw e;
  }
}

/**
 * `init --accounts`: dmc.yaml with an `accounts` list, one entry per account
 * the simulator wrote a client configuration for (its service, transport and
 * mail), each with its drop folder `drop/<serviceId>` and its command file
 * `commands/sms-<serviceId>.yaml` (the template with the account's service
 * and space); the settings every account shares stated once at the top.
 */
async function runInitAccounts(opts: InitCliOptions, io: Io): Promise<number> {
  const root = resolve(opts.simulator ?? 'var/simulator');
  const dir = join(root, 'clients');
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('-sftp.yaml')).sort();
  if (names.length === 0)
    throw new UsageError(
      `no simulator client configuration in ${dir}: start the local platform first, in another terminal: npx dmc-trigger simulator --config accounts.yaml (docs/cli.md, simulator); or name its --root with --simulator`,
    );
  const { parse, stringify } = await import('yaml');
  const template = await readFile(new URL('sms.yaml', TEMPLATES), 'utf8');
  const accounts: Record<string, unknown>[] = [];
  await mkdir('commands', { recursive: true });
  for (const name of names) {
    const client = parse(await readFile(join(dir, name), 'utf8')) as { service: { serviceId: string; spaceId?: string }; transport: unknown; mail?: unknown };
    const id = String(client.service.serviceId);
    const command = `commands/sms-${id}.yaml`;
    const text = template.replace(/^serviceId: .*$/m, `serviceId: "${id}"`).replace(/^spaceId: .*$/m, `spaceId: ${client.service.spaceId ?? 123}`);
    await writeFile(command, text, { flag: opts.force ? 'w' : 'wx' }).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    });
    await mkdir(join('drop', id), { recursive: true });
    accounts.push({
      service: client.service,
      transport: client.transport,
      ...(client.mail ? { mail: client.mail } : {}),
      daemon: { dropFolders: [{ path: `drop/${id}`, command }] },
    });
  }
  const text = [
    '# dmc-trigger configuration with several accounts, written by `dmc-trigger init --accounts` (docs/config.md, "Several accounts").',
    `# It points at the local DMC simulator (${root}), whose host key is pinned in each account.`,
    '# What every account shares is stated once here; each account overrides what it sets differently.',
    '# Each account keeps its own journal (state/<serviceId>/), reports (reports/<serviceId>/) and mail state.',
    'daemon:',
    '  http: {listen: "127.0.0.1:8481"}    # one console and /metrics for every account',
    '',
    stringify({ accounts }, { lineWidth: 0 }).trimEnd(),
    '',
  ].join('\n');
  await writeConfig(text, opts.force);
  for (const d of ['reports', 'state', 'out']) await mkdir(d, { recursive: true });
  io.out(
    `wrote dmc.yaml with ${accounts.length} account(s) (${accounts.map((a) => (a['service'] as { serviceId: string }).serviceId).join(', ')}), their command files in commands/ and drop folders in drop/`,
  );
  io.out('next: npx dmc-trigger daemon --config dmc.yaml (every account), npx dmc-trigger status --config dmc.yaml --account <serviceId>');
  return EXIT.OK;
}
