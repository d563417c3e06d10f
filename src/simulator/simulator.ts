/**
 * A local DMC platform: SFTP and active-only FTP servers over each account's
 * folder, the platform's pass every `interval` seconds, reports every
 * `reportEvery` seconds (or at a time of day), and a journal of everything
 * it saw (server file operations and platform events, in order), kept in
 * memory and appended to `<root>/journal.jsonl`.
 *
 * A separate module: the product's real code paths never import it.
 */
import { parisTime } from '../formats/paris-time.js';
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startFtpServer, type RunningFtpServer } from './ftp-server.js';
import { accountPaths, createAccountLayout, processAccount, writeReport, type Account, type PlatformEvent, type PlatformOptions } from './platform.js';
import { generateHostKey, startSftpServer, type FileEvent, type RunningSftpServer, type ServerGate } from './sftp-server.js';
import { startMailSide, type RunningMailSide } from './mail-side.js';
import { pushDue, type PushTarget } from './pusher.js';
import type { Medium } from './results.js';

export interface SimulatorOptions {
  /** Folder holding the accounts, the host key and the journal. */
  readonly root: string;
  readonly accounts: readonly Account[];
  readonly host?: string;
  /** 0 picks a free port; undefined disables the server. */
  readonly sftpPort?: number;
  readonly ftpPort?: number;
  /** Seconds between two passes (60 on the platform). */
  readonly interval?: number;
  /** Seconds between two report runs; or `reportAt` (HH:MM, Europe/Paris, daily). */
  readonly reportEvery?: number;
  readonly reportAt?: string;
  /** false: reports are written only by report() (tests). Default true. */
  readonly autoReports?: boolean;
  readonly archiveAfter?: number;
  readonly retentionDays?: number;
  readonly seed?: string;
  /**
   * Which broadcasts a report holds. Default: `previous-day` on the daily
   * schedule (the platform's, guide line 9882), `ended` with `reportEvery` or
   * `autoReports: false` (a short period: what has ended by report time).
   */
  readonly reportScope?: 'previous-day' | 'ended';
  /**
   * Seconds over which a broadcast's calls spread. Default: 3600 on the daily
   * schedule, `reportEvery` (at most 3600) with a period, 0 without automatic
   * reports (a test's report() then holds what was just processed).
   */
  readonly callSpread?: number;
  /** scenarioId → medium for the scenarios the message blocks do not tell (results.ts, mediaOf). */
  readonly scenarioMedia?: Readonly<Record<string, Medium>>;
  /** Push every contact's statuses to this URL (guide §2.9), once its call has happened; absent: no push. */
  readonly push?: PushTarget;
  /** The mail side (SMTP in, IMAP mailbox for the replies); absent: no mail side. */
  readonly mail?: {
    readonly smtpPort: number;
    readonly imapPort: number;
    readonly mailboxes: readonly { readonly address: string; readonly password: string }[];
    /** Seconds before a mail2sms delivery report (1800 on the platform). */
    readonly mail2smsReportDelay?: number;
    readonly platformAddress?: string;
  };
  /** Called for each journal entry (logging). */
  readonly onJournal?: (e: JournalEntry) => void;
  /** Fault tests: called before and after each file operation of the servers (sftp-server.ts). */
  readonly gate?: ServerGate;
}

/** A journal entry before it is numbered and stamped. */
export type JournalEvent = (FileEvent & { source: 'server'; protocol: 'sftp' | 'ftp' }) | (PlatformEvent & { source: 'platform' });
export type JournalEntry = JournalEvent & { seq: number; at: string };

export class Simulator {
  readonly journal: JournalEntry[] = [];
  sftp: RunningSftpServer | undefined;
  ftp: RunningFtpServer | undefined;
  mail: RunningMailSide | undefined;
  private readonly pushWait = new Map<string, { at: number; delay: number }>();
  private pushTarget: PushTarget | undefined;
  private timers: NodeJS.Timeout[] = [];
  private seq = 0;
  private hostKey = '';
  private running: Promise<void> = Promise.resolve();
  private lastReportDay = '';

  constructor(readonly opts: SimulatorOptions) {
    this.pushTarget = opts.push;
  }

  /** Where to push from now on (a receiver started after the simulator, on a port it chose). */
  setPush(target: PushTarget | undefined): void {
    this.pushTarget = target;
  }

  /** The host key's fingerprint, for a client config. */
  get fingerprint(): string | undefined {
    return this.sftp?.fingerprint;
  }

  homeOf(username: string): string {
    const a = this.opts.accounts.find((x) => x.username === username);
    if (!a) throw new Error(`no account ${username}`);
    return accountPaths(this.opts.root, a).home;
  }

  private record(e: JournalEvent): void {
    const entry = { ...e, seq: ++this.seq, at: new Date().toISOString() } as JournalEntry;
    this.journal.push(entry);
    this.opts.onJournal?.(entry);
    void appendFile(join(this.opts.root, 'journal.jsonl'), `${JSON.stringify(entry)}\n`).catch(() => undefined);
  }

  async start(): Promise<void> {
    await mkdir(this.opts.root, { recursive: true });
    for (const a of this.opts.accounts) await createAccountLayout(this.opts.root, a);
    // A fixed host key: generated once per root, so a pinned config keeps working across restarts.
    const keyPath = join(this.opts.root, 'ssh_host_ed25519_key');
    const hostKey = await readFile(keyPath, 'utf8').catch(async () => {
      const k = generateHostKey();
      await writeFile(keyPath, k, { mode: 0o600 });
      return k;
    });
    this.hostKey = hostKey;
    await this.startServers();
    const host = this.opts.host ?? '127.0.0.1';
    if (this.opts.mail) {
      const m = this.opts.mail;
      this.mail = await startMailSide({
        host,
        smtpPort: m.smtpPort,
        imapPort: m.imapPort,
        mailboxes: m.mailboxes,
        mail2smsReportDelay: m.mail2smsReportDelay ?? 1800,
        ...(m.platformAddress ? { platformAddress: m.platformAddress } : {}),
        accounts: this.opts.accounts,
        platform: () => this.platformOptions(),
        emit: (e) => this.record({ ...e, source: 'platform' }),
      });
    }
    const interval = (this.opts.interval ?? 60) * 1000;
    this.timers.push(
      setInterval(() => {
        void this.tick();
      }, interval),
    );
    if (this.opts.autoReports === false) {
      /* report() only */
    } else if (this.opts.reportEvery !== undefined)
      this.timers.push(
        setInterval(() => {
          void this.report();
        }, this.opts.reportEvery * 1000),
      );
    else
      this.timers.push(
        setInterval(() => {
          void this.reportIfTime();
        }, 30_000),
      );
  }

  /**
   * Starts the file servers (again, on the ports they had: a network cut in
   * tests is stopServers(), then startServers()).
   */
  async startServers(): Promise<void> {
    const host = this.opts.host ?? '127.0.0.1';
    const served = this.opts.accounts.map((a) => ({
      username: a.username,
      root: accountPaths(this.opts.root, a).home,
      ...(a.password !== undefined ? { password: a.password } : {}),
      ...(a.publicKeys ? { publicKeys: a.publicKeys } : {}),
    }));
    if (this.opts.sftpPort !== undefined) {
      const port = this.sftp?.port ?? this.opts.sftpPort;
      this.sftp = await startSftpServer({
        host,
        port,
        hostKey: this.hostKey,
        accounts: served,
        onEvent: (e) => this.record({ ...e, source: 'server', protocol: 'sftp' as const }),
        ...(this.opts.gate ? { gate: this.opts.gate } : {}),
      });
    }
    if (this.opts.ftpPort !== undefined) {
      const port = this.ftp?.port ?? this.opts.ftpPort;
      this.ftp = await startFtpServer({
        host,
        ...(port ? { port } : {}),
        accounts: served.filter((s) => s.password !== undefined).map((s) => ({ username: s.username, password: s.password!, root: s.root })),
        onEvent: (e) => this.record({ ...e, source: 'server', protocol: 'ftp' as const }),
        ...(this.opts.gate ? { gate: this.opts.gate } : {}),
      });
    }
  }

  /** Stops the file servers and drops every connection (the platform keeps its state). */
  async stopServers(): Promise<void> {
    this.sftp?.dropConnections();
    this.ftp?.dropConnections();
    await this.sftp?.close();
    await this.ftp?.close();
  }

  private platformOptions(): PlatformOptions {
    const o = this.opts;
    const daily = o.autoReports !== false && o.reportEvery === undefined;
    return {
      root: o.root,
      seed: o.seed ?? 'dmc-simulator',
      archiveAfter: o.archiveAfter ?? 300,
      retentionDays: o.retentionDays ?? 30,
      reportScope: o.reportScope ?? (daily ? 'previous-day' : 'ended'),
      callSpread: o.callSpread ?? (daily ? 3600 : o.autoReports === false ? 0 : Math.min(3600, o.reportEvery ?? 0)),
      ...(o.scenarioMedia ? { scenarioMedia: o.scenarioMedia } : {}),
      ...(this.pushTarget ? { push: this.pushTarget } : {}),
      emit: (e: PlatformEvent) => this.record({ ...e, source: 'platform' }),
    };
  }

  /**
   * Holds the platform's passes until the returned function is called (the
   * pass under way ends first): a platform slow to take its triggers, so
   * that a test can act while a trigger waits in in/ on the platform.
   */
  hold(): () => void {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    this.running = this.running.then(() => released);
    return release;
  }

  /** One platform pass over every account; passes never overlap. */
  tick(): Promise<void> {
    this.running = this.running.then(async () => {
      for (const a of this.opts.accounts) {
        await processAccount(a, this.platformOptions()).catch((e: Error) =>
          this.record({ source: 'platform', type: 'error', account: a.username, message: e.message }),
        );
        await this.push(a).catch((e: Error) => this.record({ source: 'platform', type: 'error', account: a.username, message: e.message }));
      }
      await this.mail?.pass().catch((e: Error) => this.record({ source: 'platform', type: 'error', account: '(mail)', message: e.message }));
    });
    return this.running;
  }

  /** Pushes the statuses whose call has happened; after a refused post, waits (1 s doubling, a minute at most). */
  private async push(a: Account): Promise<void> {
    const target = this.pushTarget;
    if (!target) return;
    const now = Date.now();
    const wait = this.pushWait.get(a.username);
    if (wait && now < wait.at) return;
    const r = await pushDue(accountPaths(this.opts.root, a).state, a.serviceId, a.spaceId ?? '', target, now);
    if (r.posted) this.record({ source: 'platform', type: 'pushed', account: a.username, posts: r.posted, statuses: r.statuses });
    if (r.error) {
      const delay = Math.min(60_000, (wait?.delay ?? 500) * 2);
      this.pushWait.set(a.username, { at: now + delay, delay });
      this.record({ source: 'platform', type: 'push-failed', account: a.username, error: r.error, waiting: r.left });
    } else this.pushWait.delete(a.username);
  }

  /** Writes the pending results of every account to its report. */
  report(): Promise<void> {
    this.running = this.running.then(async () => {
      for (const a of this.opts.accounts) {
        await writeReport(a, this.platformOptions()).catch((e: Error) =>
          this.record({ source: 'platform', type: 'error', account: a.username, message: e.message }),
        );
      }
    });
    return this.running;
  }

  private async reportIfTime(): Promise<void> {
    const at = this.opts.reportAt ?? '02:00';
    const { date: day, time } = parisTime(new Date());
    if (time >= at && this.lastReportDay !== day) {
      this.lastReportDay = day;
      await this.report();
    }
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.running;
    await this.sftp?.close();
    await this.ftp?.close();
    await this.mail?.close();
  }
}
