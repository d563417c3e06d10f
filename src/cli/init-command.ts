/**
 * `dmc-trigger init`: the one step between a clone and the README's
 * commands. It writes `dmc.yaml` pointed at a running local simulator (its
 * host key pinned, its password in the simulator's 0600 file), a drop
 * folder and a command file for the daemon, so that every command of the
 * README runs as written; then the user puts in their account's values
 * (docs/operations.md, "From the sandbox to a real account").
 */
import { constants } from 'node:fs';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { EXIT, UsageError, type Io } from './output.js';

export interface InitCliOptions {
  simulator?: string;
  force?: boolean;
}

const TEMPLATES = new URL('../../templates/', import.meta.url);

export async function runInit(opts: InitCliOptions, io: Io): Promise<number> {
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
