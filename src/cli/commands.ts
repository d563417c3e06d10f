/**
 * Every command's definition (name, options, help) and nothing else: each
 * implementation is imported when its command runs, so `--version`,
 * `--help` and a command's own `--help` load commander and this file only
 * (no ssh2, basic-ftp, better-sqlite3, imapflow, nodemailer or servers).
 * `build`, `validate` and `convert` load the formats and files layers only.
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { BuildCliOptions } from './build-command.js';
import type { ConvertCliOptions } from './convert-command.js';
import type { Io } from './output.js';
import type { SendCliOptions } from './send-command.js';
import type { SimulatorCliOptions } from './simulator-command.js';
import type { ValidateCliOptions } from './validate-command.js';

type SetExit = (code: number) => void;

/** A repeatable option whose values may also be separated by commas (`--account 111,222 --account 333`). */
const commaList = (v: string, prev: string[] = []): string[] => [
  ...prev,
  ...v
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean),
];

/**
 * Option values are checked as they are parsed, before anything happens: a
 * bad one is a usage error (exit 2) naming the option, never a failure after
 * a message was sent or a stack trace. The value stays a string for the
 * command, which reads it as before.
 */
function numberFrom(min: number, max = Number.POSITIVE_INFINITY, integer = false): (v: string) => string {
  return (v: string): string => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n)))
      throw new InvalidArgumentError(`give ${integer ? 'a whole number' : 'a number'} from ${min}${max < Number.POSITIVE_INFINITY ? ` to ${max}` : ''}.`);
    return v;
  };
}
const port = numberFrom(0, 65535, true);
const seconds = numberFrom(0);
function positiveSeconds(v: string): string {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('give a positive number of seconds.');
  return v;
}
function clockTime(v: string): string {
  if (!/^([01]\d|2[0-3]):[0-5]\d$/.test(v)) throw new InvalidArgumentError('give a time of day as HH:MM, 00:00 to 23:59.');
  return v;
}

export function registerBuild(program: Command, io: Io, setExit: SetExit): void {
  program
    .command('build')
    .description('build trigger file(s) from a command file and an SI export of contacts')
    .requiredOption('--command <file>', "command file (YAML or JSON) with the guide's parameter names")
    .option('--contacts <export>', 'SI export: CSV (; , or tab) or JSON Lines, UTF-8 / Windows-1252 / ISO-8859-1 / ISO-8859-15')
    .option('--format <csv|xml>', 'trigger format', 'csv')
    .option('--out <path>', 'output path, or a folder to write the default name in (default: <export>.trigger.<format> in the current folder)')
    .option('--split [N]', `split into files of at most N contacts (default 100000): <base>-001.csv...`)
    .option('--encoding <enc>', 'output encoding: iso-8859-15 or utf8', 'iso-8859-15')
    .option('--input-encoding <enc>', 'encoding of the export (default: detected)')
    .option('--delimiter <c>', "delimiter of the export: ';' ',' or tab (default: detected)")
    .option('--map <COL=Header...>', 'map export columns to DMC columns, e.g. PHONENUMBER1=Mobile,NAME=Nom (repeatable)', (v: string, prev: string[] = []) => [
      ...prev,
      v,
    ])
    .option('--replace-forbidden', "replace ';' in contact fields by ',' and line breaks by spaces instead of refusing them (each reported)")
    .option('--reject-bad-rows', 'partial acceptance: leave out contacts with errors (written to <out>.rejected.csv with line and reason) and build the rest')
    .option('--max-rejected <n|p%>', 'with --reject-bad-rows: refuse the whole export above this many rows left out (default 10%)')
    .option('--json', 'print the result as JSON on stdout')
    .addHelpText(
      'after',
      `
Exit codes: 0 built (warnings allowed), 1 invalid input (nothing written), 2 usage or I/O error.
Example:
  dmc-trigger build --command templates/sms.yaml --contacts samples/exports/crm-semicolon.csv --out out/sms.csv`,
    )
    .action(async (opts: BuildCliOptions) => {
      setExit(await (await import('./build-command.js')).runBuild(opts, io));
    });
}

export function registerConvert(program: Command, io: Io, setExit: SetExit): void {
  program
    .command('convert')
    .description('convert a trigger file between CSV and XML, canonically (errata fixed, documented order, ISO-8859-15)')
    .argument('<file>', 'trigger file (CSV or XML)')
    .requiredOption('--to <csv|xml>', 'output format')
    .option('--out <path>', 'output path, or a folder to write the default name in (default: <file>.<format> in the current folder)')
    .option('--encoding <enc>', 'output encoding: iso-8859-15 or utf8', 'iso-8859-15')
    .option('--input-encoding <enc>', 'read with this encoding whatever the file declares')
    .option('--replace-forbidden', "replace ';' in contact fields and line breaks instead of refusing them")
    .addHelpText('after', '\nExit codes: 0 converted, 1 invalid input (nothing written), 2 usage or I/O error.')
    .action(async (file: string, opts: ConvertCliOptions) => {
      setExit(await (await import('./convert-command.js')).runConvert(file, opts, io));
    });
}

export function registerValidate(program: Command, io: Io, setExit: SetExit): void {
  program
    .command('validate')
    .description('check trigger files (CSV or XML) against every rule of the guide')
    .argument('<file...>', 'trigger files')
    .option('--documents <dir>', 'check that the documents named by fileName / fileAttachment are in this folder (and WAV formats)')
    .option('--encoding <enc>', 'read with this encoding whatever the file declares')
    .option('--json', 'one JSON object per file: {file, valid, contacts, errors[], warnings[]}')
    .addHelpText('after', '\nExit codes: 0 all valid (warnings allowed), 1 a file is invalid, 2 usage or I/O error.')
    .action(async (files: string[], opts: ValidateCliOptions) => {
      setExit(await (await import('./validate-command.js')).runValidate(files, opts, io));
    });
}

export function registerSend(program: Command, io: Io, setExit: SetExit): void {
  program
    .command('send')
    .description('validate a trigger and upload it (documents first) with the .uploading handshake')
    .argument('<trigger>', 'trigger file (CSV or XML)')
    .requiredOption('--config <file>', 'configuration file (docs/config.md)')
    .option('--document <file>', 'a document the trigger names, sent first (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--wait', 'wait for the outcome: in/processed/ (exit 0) or in/failed/ (exit 1)')
    .option('--timeout <s>', 'with --wait: seconds to wait for the outcome (default: timeouts.outcome)', positiveSeconds)
    .option('--no-wait-documents', 'send the trigger right after the documents, without waiting until the platform has taken them')
    .option('--remote-name <name>', 'remote file name (default: <name>_<UTC time>_<hash>.<ext>)')
    .option('--log-level <level>', 'log level on stderr: error, warn, info, debug', 'warn')
    .addHelpText('after', '\nExit codes: 0 uploaded (and processed with --wait), 1 invalid or failed, 2 usage or configuration error, 3 transport error.')
    .action(async (trigger: string, opts: SendCliOptions) => {
      setExit(await (await import('./send-command.js')).runSend(trigger, opts, io));
    });
}

export function registerReports(program: Command, io: Io, setExit: SetExit): void {
  const reports = program.command('reports').description('collect and read the daily report (CRA) files');
  reports
    .command('fetch')
    .description('download the reports in out/ to the reports folder, then ack each one (the platform deletes it)')
    .requiredOption('--config <file>', 'configuration file (docs/config.md)')
    .option('--to <dir>', 'reports folder (default: reports.dir of the config)')
    .option('--no-ack', 'leave the reports on the server (no .ack dropped)')
    .option('--log-level <level>', 'log level on stderr', 'warn')
    .addHelpText('after', '\nExit codes: 0 done, 2 usage or configuration error, 3 transport error.')
    .action(async (opts: { config: string; to?: string; ack?: boolean; logLevel?: string }) => {
      setExit(await (await import('./reports-command.js')).runFetch(opts, io));
    });
  reports
    .command('show')
    .description('summarize a CRA file per broadcast: results by label and annex 5.4 code, success rate')
    .argument('<file>', 'CRA_<serviceId>_<date>.csv, or a folder: its newest CRA_*.csv (reports/ after reports fetch)')
    .option('--json', 'print the summary as JSON')
    .addHelpText('after', '\nExit codes: 0 read, 1 the file has errors, 2 usage error.')
    .action(async (file: string, opts: { json?: boolean }) => {
      setExit(await (await import('./reports-command.js')).runShow(file, opts, io));
    });
}

export function registerInit(program: Command, io: Io, setExit: SetExit): void {
  program
    .command('init')
    .description(
      'write dmc.yaml (pointed at the running local simulator, its host key pinned), a drop folder and a command file: the README commands then run as written',
    )
    .option('--simulator <dir>', "the simulator's --root (its client configuration is in <dir>/clients/)", 'var/simulator')
    .option('--force', 'write dmc.yaml and commands/sms.yaml again over existing ones')
    .option('--accounts', "write the several-accounts shape: one entry per account of the simulator (docs/config.md, 'Several accounts')")
    .addHelpText(
      'after',
      `
Exit codes: 0 written, 2 no simulator client configuration, or dmc.yaml exists (without --force).
Example:
  npx dmc-trigger simulator --interval 2 --report-every 10     # in another terminal, first
  npx dmc-trigger init`,
    )
    .action(async (opts: { simulator?: string; force?: boolean; accounts?: boolean }) => {
      setExit(await (await import('./init-command.js')).runInit(opts, io));
    });
}

export function registerSimulator(program: Command, io: Io, setExit: SetExit): void {
  program
    .command('simulator')
    .description('run a local DMC platform: SFTP and active-only FTP servers, the platform pass, reports (until Ctrl-C)')
    .option('--config <file>', 'simulator configuration: accounts (serviceId, username, password, publicKeys), seed (YAML)')
    .option('--root <dir>', 'folder for the accounts, the host key and the journal', 'var/simulator')
    .option('--sftp-port <n>', 'SFTP port (0: any free port)', port, '2222')
    .option('--ftp-port <n>', 'FTP port, active mode only (0: any free port)', port, '2121')
    .option('--smtp-port <n>', 'SMTP port receiving email triggers and mail2sms (0: any free port; -1: no mail side)', numberFrom(-1, 65535, true), '2525')
    .option('--imap-port <n>', 'IMAP port of the mailbox where the replies land (0: any free port)', port, '1143')
    .option('--mail2sms-delay <s>', 'seconds before a mail2sms delivery report (1800 on the platform)', seconds, '1800')
    .option('--interval <s>', 'seconds between two platform passes (60 on the platform)', seconds, '60')
    .option('--report-every <s>', 'write the reports every N seconds (tests, demos)', numberFrom(0.1))
    .option('--report-at <HH:MM>', 'write the reports daily at this time, Europe/Paris (default 02:00)', clockTime)
    .option('--seed <text>', 'seed of the simulated results (same seed, same results)')
    .option('--push-url <url>', "POST every contact's statuses there (the CRA push, guide §2.9), e.g. http://127.0.0.1:8480/dmc/status")
    .option('--push-user <user:password>', 'HTTP Basic credentials for --push-url')
    .addHelpText(
      'after',
      `
Without --config: one account, service 12345678 (space 123), user dmc, password from DMC_SIM_PASSWORD
or generated, email triggers allowed from the domain client1.fr, a mailbox ops@client1.fr (same password);
a client configuration pinning the host key, with the mail section, is written under <root>/clients/.`,
    )
    .action(async (opts: SimulatorCliOptions) => {
      setExit(await (await import('./simulator-command.js')).runSimulator(opts, io));
    });
}

export function registerMail(program: Command, io: Io, setExit: SetExit): void {
  const mail = program.command('mail').description("email triggers: send them, read the platform's replies");
  mail
    .command('send')
    .description('send an email trigger (plain-text command body, contacts as a .csv attachment, documents attached)')
    .argument('<trigger-or-command>', 'a trigger file (.csv, .xml) or a command file (.yaml, .json)')
    .requiredOption('--config <file>', 'configuration file with a mail section (docs/config.md)')
    .option('--contacts <file>', 'SI export of contacts (with a command file)')
    .option('--contacts-in-body', 'put the contacts in the body after the command lines when they take 8 KiB or less (else an attachment)')
    .option('--document <file>', 'a document the command names (fileName, fileAttachment); repeatable', (v: string, p: string[] = []) => [...p, v])
    .option('--map <COL=Header>', 'map export columns to DMC columns (repeatable)', (v: string, p: string[] = []) => [...p, v])
    .option('--wait', "wait for the platform's reply (exit 0 accepted, 1 refused)")
    .option('--timeout <s>', 'with --wait: seconds (default mail.replyTimeout)', positiveSeconds)
    .option('--log-level <level>', 'log level on stderr', 'warn')
    .addHelpText('after', '\nExit codes: 0 sent (accepted, with --wait), 1 invalid or refused, 2 usage or configuration error, 3 transport error or no reply.')
    .action(async (source: string, o) => {
      setExit(await (await import('./mail-command.js')).runMailSend(source, o, io));
    });
  mail
    .command('replies')
    .description("read the platform's replies, match them to what was sent, mark them seen (or move them)")
    .requiredOption('--config <file>', 'configuration file with mail.imap')
    .option('--watch', 'keep watching (IMAP IDLE) until Ctrl-C')
    .option('--json', 'one JSON object per mail')
    .option('--log-level <level>', 'log level on stderr', 'warn')
    .action(async (o) => {
      setExit(await (await import('./mail-command.js')).runReplies(o, io));
    });
  program
    .command('mail2sms')
    .description('send SMS by mail2sms: numbers in the subject, the text in the body')
    .requiredOption('--config <file>', 'configuration file with a mail section and service.spaceId')
    .requiredOption('--to <numbers>', 'mobile numbers separated by ; (20 per message)')
    .option('--text <text>', 'the SMS text (600 characters at most)')
    .option('--text-file <file>', 'read the text from a file')
    .option('--split', 'more than 20 numbers: send several messages instead of refusing')
    .option('--signature', 'put the text between #SMS# tags (when your mail client adds a signature)')
    .option('--wait', 'wait for the confirmation (exit 0) or failure (exit 1)')
    .option('--timeout <s>', 'with --wait: seconds (default mail.replyTimeout)', positiveSeconds)
    .option('--log-level <level>', 'log level on stderr', 'warn')
    .addHelpText('after', '\nExit codes: 0 sent (confirmed, with --wait), 1 invalid or refused, 2 usage or configuration error, 3 transport error or no reply.')
    .action(async (o) => {
      setExit(await (await import('./mail-command.js')).runMail2Sms(o, io));
    });
}

export function registerDaemon(program: Command, io: Io, setExit: SetExit): void {
  program
    .command('daemon')
    .description('watch the drop folders, build and send each export exactly once, track outcomes, collect reports (until SIGTERM/Ctrl-C)')
    .requiredOption('--config <file>', 'configuration file with transport and daemon sections (docs/config.md)')
    .option(
      '--account <serviceId>',
      'with several accounts in the configuration, lead only these (repeatable, or separated by commas; default: every account)',
      commaList,
    )
    .option('--label <name>', 'with several accounts, lead only the accounts with this label (repeatable, or separated by commas)', commaList)
    .option('--log-level <level>', 'log level on stderr', 'info')
    .action(async (o: { config: string; account?: string[]; label?: string[]; logLevel?: string }) => {
      setExit(await (await import('./daemon-command.js')).runDaemon(o, io));
    });
  program
    .command('status')
    .description("what the daemon's journal holds: inputs and triggers by state, recent inputs")
    .requiredOption('--config <file>', 'configuration file with a daemon section')
    .option('--json', 'print as JSON')
    .option('--limit <n>', 'recent inputs shown', numberFrom(1, 10_000, true), '20')
    .action(async (o: { config: string; json?: boolean; limit?: string }) => {
      setExit(await (await import('./daemon-command.js')).runStatus(o, io));
    });
  const journal = program.command('journal').description("the daemon's journal: check its invariants, move it to the shared PostgreSQL store");
  journal
    .command('migrate')
    .description("copy a stopped daemon's SQLite journal into the PostgreSQL store (daemon.journal: postgres://...), in one transaction; again: nothing to do")
    .requiredOption('--config <file>', 'configuration file whose daemon.journal and daemon.store name the PostgreSQL store')
    .requiredOption('--from <file>', 'the SQLite journal the daemon used until now (state/journal.db)')
    .option('--to <url>', 'the PostgreSQL store, when not daemon.journal (postgres://user@host:port/database)')
    .action(async (o: { config: string; from: string; to?: string }) => {
      setExit(await (await import('./daemon-command.js')).runJournalMigrate(o, io));
    });
  journal
    .command('check')
    .description(
      "check the journal's invariants (states, references, one live trigger per remote name, every live input's files, the hook outbox, fencing), read-only, beside a running daemon",
    )
    .requiredOption('--config <file>', 'configuration file with a daemon section')
    .option('--json', 'print the report as JSON (docs/cli.md)')
    .action(async (o: { config: string; json?: boolean }) => {
      setExit(await (await import('./daemon-command.js')).runJournalCheck(o, io));
    });
  program
    .command('results')
    .description("an export's results joined back to its rows: counts per status and medium, and where its results file is")
    .argument('<input>', 'input number (dmc-trigger status) or export file name')
    .requiredOption('--config <file>', 'configuration file with a daemon section')
    .option('--json', 'print the summary as JSON (docs/cli.md)')
    .action(async (which: string, o: { config: string; json?: boolean }) => {
      setExit(await (await import('./push-command.js')).runResults(which, o, io));
    });
  program
    .command('push-receiver')
    .description("receive the platform's CRA push (guide §2.9) over HTTP into the journal, until SIGTERM/Ctrl-C (the daemon runs it too when configured)")
    .requiredOption('--config <file>', 'configuration file with a push section (docs/config.md)')
    .option('--log-level <level>', 'log level on stderr', 'info')
    .action(async (o: { config: string; logLevel?: string }) => {
      setExit(await (await import('./push-command.js')).runPushReceiver(o, io));
    });
  program
    .command('retry')
    .description('put a failed input (never sent) back in its drop folder; the daemon takes it again')
    .argument('<id>', 'input number (dmc-trigger status)')
    .requiredOption('--config <file>', 'configuration file with a daemon section')
    .action(async (id: string, o: { config: string }) => {
      setExit(await (await import('./daemon-command.js')).runRetry(id, o, io));
    });
  program
    .command('resend')
    .description('send an input again, as a new broadcast, though it was sent or refused as a duplicate (needs --force)')
    .argument('<id>', 'input number (dmc-trigger status)')
    .requiredOption('--config <file>', 'configuration file with a daemon section')
    .option('--force', 'yes, send it again')
    .action(async (id: string, o: { config: string; force?: boolean }) => {
      setExit(await (await import('./daemon-command.js')).runResend(id, o, io));
    });
}

export function registerSandbox(program: Command, io: Io, setExit: SetExit): void {
  program
    .command('sandbox')
    .description('run the daemon on an embedded simulator with a sample drop folder under ./var/sandbox (npm start), until Ctrl-C')
    .option('--dir <dir>', 'sandbox folder (kept between runs)', 'var/sandbox')
    .action(async (o: { dir?: string }) => {
      setExit(await (await import('./sandbox-command.js')).runSandbox(o, io));
    });
}

export function registerDemo(program: Command, io: Io, setExit: SetExit): void {
  program
    .command('demo')
    .description('run the whole cycle on a local simulator: build, validate, send, outcome, report, ack (no account needed)')
    .option('--dir <dir>', 'working folder (emptied first)', 'var/demo')
    .option('--protocol <sftp|ftp>', 'transport to use', 'sftp')
    .option('--verbose', 'also print every file operation the simulator sees')
    .addHelpText('after', '\nExit codes: 0 the whole cycle worked, 1 a build or validation failed, 3 a transfer or outcome failed.')
    .action(async (opts: { dir?: string; protocol?: string; verbose?: boolean }) => {
      setExit(await (await import('./demo-command.js')).runDemo(opts, io));
    });
}

/**
 * What `--help` shows after the options, for the commands whose own
 * definition does not say it yet: the exit codes (`exits`) and one example
 * (every command has one; the README's or docs/cli.md's).
 */
const HELP: Readonly<Record<string, { exits?: string; example: string }>> = {
  convert: { example: 'dmc-trigger convert out/colis.csv --to xml --out out/colis.xml' },
  validate: { example: 'dmc-trigger validate out/colis.csv --documents samples/documents' },
  send: { example: 'dmc-trigger send out/fax.csv --document samples/documents/TESTFAX.pdf --config dmc.yaml --wait' },
  'reports fetch': { example: 'dmc-trigger reports fetch --config dmc.yaml' },
  'reports show': { example: 'dmc-trigger reports show reports/' },
  simulator: {
    exits: '0 stopped by Ctrl-C or SIGTERM, 2 usage or configuration error (a port taken)',
    example: 'dmc-trigger simulator --interval 2 --report-every 10',
  },
  'mail send': { example: 'dmc-trigger mail send templates/sms.yaml --contacts samples/exports/crm-semicolon.csv --config dmc.yaml --wait' },
  'mail replies': { exits: '0 read, 2 usage or configuration error, 3 transport error', example: 'dmc-trigger mail replies --config dmc.yaml --json' },
  mail2sms: { example: 'dmc-trigger mail2sms --to "0601020304;0601020305" --text "Votre colis est arrivé." --config dmc.yaml' },
  daemon: {
    exits: '0 stopped by SIGTERM or Ctrl-C, 2 usage or configuration error (or another daemon holds the journal), 3 transport error at start',
    example: 'dmc-trigger daemon --config /etc/dmc-trigger/dmc.yaml',
  },
  status: { exits: '0 shown (also before the daemon ever ran), 2 usage or configuration error', example: 'dmc-trigger status --config dmc.yaml --limit 50' },
  results: { exits: '0 shown, 2 usage or configuration error (no such input)', example: 'dmc-trigger results relance.csv --config dmc.yaml --json' },
  'journal migrate': {
    exits: '0 copied (or already copied), 2 usage or configuration error, the source in use by a running daemon, or a target that holds other rows',
    example: 'dmc-trigger journal migrate --config dmc.yaml --from state/journal.db',
  },
  'journal check': {
    exits: '0 consistent (warnings allowed), 1 an invariant broken (listed), 2 usage or configuration error (no journal yet)',
    example: 'dmc-trigger journal check --config dmc.yaml',
  },
  'push-receiver': { exits: '0 stopped by SIGTERM or Ctrl-C, 2 usage or configuration error', example: 'dmc-trigger push-receiver --config dmc.yaml' },
  retry: { exits: '0 put back, 2 usage error (no such input, or not failed)', example: 'dmc-trigger retry 42 --config dmc.yaml' },
  resend: { exits: '0 put back to be sent again, 2 usage error (no such input, or no --force)', example: 'dmc-trigger resend 42 --config dmc.yaml --force' },
  sandbox: { exits: '0 stopped by Ctrl-C, 2 usage error (a port taken)', example: 'dmc-trigger sandbox --dir var/sandbox' },
  demo: { example: 'dmc-trigger demo --protocol ftp' },
};

/** Registers every command on `program`. */
export function registerCommands(program: Command, io: Io, setExit: SetExit): void {
  for (const register of [
    registerBuild,
    registerValidate,
    registerConvert,
    registerSend,
    registerReports,
    registerSimulator,
    registerInit,
    registerMail,
    registerDaemon,
    registerSandbox,
    registerDemo,
  ])
    register(program, io, setExit);
  const walk = (cmd: Command, prefix: string): void => {
    for (const c of cmd.commands) {
      const name = `${prefix}${c.name()}`;
      const h = HELP[name];
      // Every command that reads a configuration acts for one account; the daemon serves every account (its own --account).
      if (name !== 'simulator' && name !== 'daemon' && c.options.some((o) => o.long === '--config'))
        c.option('--account <serviceId>', 'with several accounts in the configuration, the one to act for (default: DMC_ACCOUNT; docs/config.md)');
      if (h) c.addHelpText('after', `${h.exits ? `\nExit codes: ${h.exits}.` : ''}\nExample:\n  ${h.example}`);
      walk(c, `${name} `);
    }
  };
  walk(program, '');
}
