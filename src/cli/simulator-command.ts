import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../config/config.js';
import type { Account } from '../simulator/platform.js';
import { Simulator, type JournalEntry, type SimulatorOptions } from '../simulator/simulator.js';
import { type Io, UsageError, untilSignal } from './output.js';
import type { PushTarget } from '../simulator/pusher.js';

export interface SimulatorCliOptions {
  config?: string;
  root?: string;
  sftpPort?: string;
  ftpPort?: string;
  smtpPort?: string;
  imapPort?: string;
  mail2smsDelay?: string;
  interval?: string;
  reportEvery?: string;
  reportAt?: string;
  seed?: string;
  pushUrl?: string;
  pushUser?: string;
}

const simSchema = z.strictObject({
  accounts: z
    .array(
      z.strictObject({
        serviceId: z.union([z.string(), z.number()]).transform(String),
        username: z.string().min(1),
        password: z.string().optional(),
        publicKeys: z.array(z.string()).optional(),
        spaceId: z.union([z.string(), z.number()]).transform(String).optional(),
        allowedSenders: z.array(z.string()).optional(),
        mail2smsSenders: z.array(z.string()).optional(),
      }),
    )
    .min(1),
  mailboxes: z.array(z.strictObject({ address: z.string(), password: z.string() })).optional(),
  seed: z.string().optional(),
  archiveAfter: z.number().positive().optional(),
  retentionDays: z.number().positive().optional(),
  /** Seconds over which a broadcast's calls spread (results.ts). */
  callSpread: z.number().min(0).max(86_400).optional(),
  /** scenarioId → medium, for scenarios the message blocks do not tell (a WAV MMS without a subject...). */
  scenarioMedia: z.record(z.string(), z.enum(['sms', 'mms', 'voice', 'fax', 'email'])).optional(),
});

/** A journal entry as a log line. */
export function describeEntry(e: JournalEntry): string | undefined {
  if (e.source === 'server') {
    if (e.op === 'rename') return `${e.protocol} ${e.user}: rename ${e.from} -> ${e.to}`;
    if (e.op === 'close-write') return `${e.protocol} ${e.user}: wrote ${e.path} (${e.size} bytes)`;
    return undefined;
  }
  switch (e.type) {
    case 'document-taken':
      return `platform: document ${e.name} taken into the store`;
    case 'taken':
      return `platform: ${e.name} -> in/processing/`;
    case 'processed':
      return `platform: ${e.name} -> in/processed/, broadcast ${e.broadcastId} (${e.contacts} contacts)${e.startsAt ? `, starts at ${e.startsAt} (its startDate): calls, statuses and report wait until then` : ''}`;
    case 'failed':
      return `platform: ${e.name} -> in/failed/: ${e.errors.slice(0, 3).join(' | ')}`;
    case 'archived':
      return `platform: ${e.name} archived from ${e.from}/`;
    case 'report':
      return `platform: report out/${e.name} written (${e.results} results)`;
    case 'ack':
      return `platform: ack ${e.ack} -> report ${e.report} ${e.deleted ? 'deleted' : 'was already gone'}`;
    case 'purged':
      return `platform: report ${e.name} purged (retention)`;
    case 'error':
      return `platform: ERROR ${e.message}`;
    case 'mail-received':
      return `mail: from ${e.from} to ${e.to}: ${e.subject}`;
    case 'mail-ignored':
      return `mail: from ${e.from} to ${e.to} ignored (${e.reason})`;
    case 'mail-broadcast':
      return `mail: email trigger from ${e.from}: broadcast ${e.broadcastId} (${e.contacts} contacts)`;
    case 'mail-refused':
      return `mail: email trigger from ${e.from} refused: ${e.cause}`;
    case 'mail-reply':
      return `mail: ${e.kind} reply to ${e.to}`;
    case 'pushed':
      return `platform: pushed ${e.statuses} status(es) in ${e.posts} post(s)`;
    case 'push-failed':
      return `platform: push refused (${e.error}); ${e.waiting} contact(s) wait, retried`;
    default:
      return undefined;
  }
}

/** Writes a client config for an account that pins the simulator's host key; the password goes to a 0600 file. */
export async function writeClientConfig(dir: string, sim: Simulator, a: Account & { password: string }, protocol: 'sftp' | 'ftp', extra = ''): Promise<string> {
  await mkdir(dir, { recursive: true });
  const pw = join(dir, `${a.username}.password`);
  await writeFile(pw, `${a.password}\n`, { mode: 0o600 });
  const port = protocol === 'sftp' ? sim.sftp?.port : sim.ftp?.port;
  const path = join(dir, `${a.username}-${protocol}.yaml`);
  await writeFile(
    path,
    [
      '# Client configuration for the local DMC simulator (dmc-trigger simulator / demo).',
      `service: {serviceId: "${a.serviceId}"${a.spaceId ? `, spaceId: ${a.spaceId}` : ''}}`,
      'transport:',
      `  protocol: ${protocol}`,
      '  host: 127.0.0.1',
      `  port: ${port}`,
      `  username: ${a.username}`,
      `  passwordFile: ${JSON.stringify(pw)}`,
      ...(protocol === 'sftp' ? [`  hostKey: "${sim.fingerprint}"`] : []),
      extra,
    ].join('\n') + '\n',
  );
  return path;
}

function pushTarget(url: string, user: string | undefined): PushTarget {
  if (!/^https?:\/\/[^\s]+$/i.test(url)) throw new UsageError(`--push-url '${url}' is not an http:// or https:// URL`);
  if (user !== undefined && !user.includes(':')) throw new UsageError('--push-user takes user:password');
  const [username = '', ...rest] = (user ?? '').split(':');
  return { url, ...(user !== undefined ? { username, password: rest.join(':') } : {}) };
}

export async function runSimulator(opts: SimulatorCliOptions, io: Io): Promise<number> {
  const root = resolve(opts.root ?? 'var/simulator');
  let accounts: (Account & { password?: string })[];
  let mailboxes: { address: string; password: string }[];
  let fileSeed: string | undefined;
  let platform: Pick<SimulatorOptions, 'archiveAfter' | 'retentionDays' | 'callSpread' | 'scenarioMedia'> = {};
  if (opts.config) {
    const raw = parseYaml(
      await readFile(opts.config, 'utf8').catch(() => {
        throw new ConfigError('CONFIG_NOT_FOUND', `cannot read the simulator configuration '${opts.config}'`);
      }),
    ) as unknown;
    const parsed = simSchema.safeParse(raw);
    if (!parsed.success)
      throw new ConfigError('CONFIG_INVALID', `${opts.config}: ${parsed.error.issues[0]!.path.join('.')}: ${parsed.error.issues[0]!.message}`);
    accounts = parsed.data.accounts.map((a) => ({
      serviceId: a.serviceId,
      username: a.username,
      ...(a.password ? { password: a.password } : {}),
      ...(a.publicKeys ? { publicKeys: a.publicKeys } : {}),
      ...(a.spaceId ? { spaceId: a.spaceId } : {}),
      ...(a.allowedSenders ? { allowedSenders: a.allowedSenders } : {}),
      ...(a.mail2smsSenders ? { mail2smsSenders: a.mail2smsSenders } : {}),
    }));
    mailboxes = parsed.data.mailboxes ?? [];
    fileSeed = parsed.data.seed;
    const { archiveAfter, retentionDays, callSpread, scenarioMedia } = parsed.data;
    platform = {
      ...(archiveAfter !== undefined ? { archiveAfter } : {}),
      ...(retentionDays !== undefined ? { retentionDays } : {}),
      ...(callSpread !== undefined ? { callSpread } : {}),
      ...(scenarioMedia ? { scenarioMedia } : {}),
    };
  } else {
    const password = process.env['DMC_SIM_PASSWORD'] ?? randomBytes(12).toString('base64url');
    accounts = [{ serviceId: '12345678', username: 'dmc', password, spaceId: '123', allowedSenders: ['client1.fr'] }];
    mailboxes = [{ address: 'ops@client1.fr', password }];
  }
  const num = (v: string | undefined, name: string): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new ConfigError('CONFIG_INVALID', `--${name} takes a number, not '${v}'`);
    return n;
  };
  const sim = new Simulator({
    root,
    accounts,
    ...platform,
    sftpPort: num(opts.sftpPort, 'sftp-port') ?? 2222,
    ftpPort: num(opts.ftpPort, 'ftp-port') ?? 2121,
    interval: num(opts.interval, 'interval') ?? 60,
    ...(opts.reportEvery !== undefined ? { reportEvery: num(opts.reportEvery, 'report-every')! } : {}),
    ...(opts.reportAt !== undefined ? { reportAt: opts.reportAt } : {}),
    seed: opts.seed ?? fileSeed ?? 'dmc-simulator',
    ...(opts.pushUrl !== undefined ? { push: pushTarget(opts.pushUrl, opts.pushUser) } : {}),
    ...(opts.smtpPort !== '-1'
      ? {
          mail: {
            smtpPort: num(opts.smtpPort, 'smtp-port') ?? 2525,
            imapPort: num(opts.imapPort, 'imap-port') ?? 1143,
            mailboxes,
            mail2smsReportDelay: num(opts.mail2smsDelay, 'mail2sms-delay') ?? 1800,
          },
        }
      : {}),
    onJournal: (e) => {
      const l = describeEntry(e);
      if (l) io.out(`${e.at} ${l}`);
    },
  });
  await sim.start();
  io.out(
    `DMC simulator: SFTP on 127.0.0.1:${sim.sftp?.port}, FTP (active only) on 127.0.0.1:${sim.ftp?.port}${sim.mail ? `, SMTP on 127.0.0.1:${sim.mail.smtpPort}, IMAP on 127.0.0.1:${sim.mail.imapPort}` : ''}; root ${root}`,
  );
  io.out(`host key ${sim.fingerprint} (pin it: transport.hostKey)`);
  for (const a of accounts) {
    if (a.password === undefined) continue;
    const box = mailboxes.find((m) => a.allowedSenders?.some((s) => m.address.toLowerCase().endsWith(s.toLowerCase())));
    const mailSection =
      sim.mail && box
        ? [
            'mail:',
            `  from: ${box.address}`,
            '  stateDir: mail-state',
            `  smtp: {host: 127.0.0.1, port: ${sim.mail.smtpPort}, requireTLS: false}`,
            `  imap: {host: 127.0.0.1, port: ${sim.mail.imapPort}, secure: false, username: "${box.address}", passwordFile: ${JSON.stringify(join(root, 'clients', `${a.username}.password`))}}`,
          ].join('\n')
        : '';
    const cfg = await writeClientConfig(join(root, 'clients'), sim, a as Account & { password: string }, 'sftp', mailSection);
    io.out(`account ${a.username} (service ${a.serviceId}): client config ${cfg}`);
  }
  io.out(
    `platform pass every ${opts.interval ?? 60} s; ${opts.reportEvery ? `reports every ${opts.reportEvery} s` : `reports daily at ${opts.reportAt ?? '02:00'} (Europe/Paris)`}. Ctrl-C to stop.`,
  );
  await untilSignal();
  await sim.stop();
  io.out('simulator stopped');
  return 0;
}
