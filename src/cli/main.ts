#!/usr/bin/env node
/**
 * The dmc-trigger command line: thin commands over the library. A user
 * error prints one clear line and exits 2; never a stack trace.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { registerCommands } from './commands.js';
import { EXIT, processIo, UsageError, type Io } from './output.js';
import { TransportError } from '../transport/transport.js';
import { printable, UNPRINTABLE } from '../formats/printable.js';

/** printable's set (src/formats/printable.ts); tab and line feed stay, as lines of output may hold them. */
const UNPRINTABLE_RE = new RegExp(`[${UNPRINTABLE}]`, 'g');

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Runs the CLI with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: readonly string[], rawIo: Io = processIo): Promise<number> {
  const io = terminalSafe(rawIo);
  let exit: number = EXIT.OK;
  const setExit = (c: number): void => {
    exit = c;
  };
  const program = new Command('dmc-trigger')
    .description(
      'Drive SFR Business DMC from an information system: trigger files over (S)FTP, email triggers, mail2sms, a daemon for drop folders, daily reports, and a local platform simulator',
    )
    .version(version())
    .option(
      '--max-line-length <characters>',
      'the longest line (or XML text between tags) the readers take, for every command (default 1048576; at most 67108864)',
    )
    .hook('preAction', (cmd) => {
      const v = cmd.opts<{ maxLineLength?: string }>().maxLineLength;
      if (v === undefined) return;
      const n = Number(v);
      // The bounds of maxLineLength() in src/formats/text-input.ts, which is not loaded here (start-up).
      if (!Number.isInteger(n) || n < 1024 || n > 64 << 20)
        throw new UsageError(`--max-line-length "${v}": give a number of characters from 1024 to ${64 << 20}`);
      // Read by the readers at each reading (src/formats/text-input.ts), in this process and the ones it starts.
      process.env['DMC_MAX_LINE_LENGTH'] = String(n);
    })
    .hook('preAction', (_, action) => {
      // The account a command acts for, read where the configuration is loaded (src/config/config.ts, pickAccount).
      const a = action.opts<{ account?: unknown }>().account;
      if (typeof a === 'string') process.env['DMC_ACCOUNT'] = a;
    })
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .showSuggestionAfterError(true);
  program.addHelpText(
    'after',
    `
Exit codes: 0 success (warnings allowed), 1 invalid input, 2 usage, configuration or I/O error, 3 transport error.
Docs: docs/cli.md (commands), docs/config.md, docs/operations.md (the daemon), docs/formats.md (every decision the guide left open).`,
  );
  registerCommands(program, io, setExit);
  // No command at all: the help, on stderr, as a usage error (a script that forgot its command must not look successful).
  if (argv.length === 0) {
    program.outputHelp({ error: true });
    return EXIT.USAGE;
  }
  const account = process.env['DMC_ACCOUNT'];
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exit;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT.OK;
      return EXIT.USAGE;
    }
    if (e instanceof UsageError) {
      io.err(`error: ${e.message}`);
      return EXIT.USAGE;
    }
    // By name: config.ts (zod, yaml) is loaded only by the commands that read a configuration.
    if ((e as Error).name === 'ConfigError') {
      io.err(`configuration error: ${(e as Error).message}`);
      return EXIT.USAGE;
    }
    if (e instanceof TransportError) {
      io.err(`transport error (${e.code}): ${e.message}`);
      return EXIT.TRANSPORT;
    }
    const err = e as NodeJS.ErrnoException;
    if (err.name === 'JournalLockedError' || err.name === 'JournalError' || err.name === 'StoreError') {
      io.err(`error: ${printable(err.message, 1000)}`);
      return EXIT.USAGE;
    }
    if (err.code === 'EADDRINUSE') {
      io.err(`error: ${err.message}: the port is taken; choose another (--sftp-port, --ftp-port, --smtp-port, --imap-port; 0 picks a free one)`);
      return EXIT.USAGE;
    }
    if (err.code && typeof err.code === 'string' && /^E[A-Z]+$/.test(err.code)) {
      const where = err.path ? ` (${printable(err.path)})` : '';
      const fix = fixFor(err.code);
      io.err(`error: ${printable(err.message, 500)}${err.message.includes(err.path ?? '\0') ? '' : where}: ${fix}`);
      return EXIT.USAGE;
    }
    io.err(`internal error: ${err.stack ?? String(e)}\nplease report it with the command you ran`);
    return 70;
  } finally {
    // main() also runs inside tests and the library: --account applies to this command only.
    if (account === undefined) delete process.env['DMC_ACCOUNT'];
    else process.env['DMC_ACCOUNT'] = account;
  }
}

/**
 * Every line the commands print may quote input (names, values, encodings):
 * control characters other than tab and line feed, and bidirectional
 * controls, are escaped once, here, so no input can move the cursor,
 * retitle the terminal, forge a line or reorder what is read.
 */
function terminalSafe(io: Io): Io {
  const clean = (l: string): string => l.replace(UNPRINTABLE_RE, (c) => (c === '\t' || c === '\n' ? c : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
  return {
    out: (l) => io.out(clean(l)),
    err: (l) => io.err(clean(l)),
    get isTTY() {
      return io.isTTY;
    },
  };
}

/** What a user does about a system error. */
function fixFor(code: string): string {
  return code === 'ENOSPC' ? 'free some space on that disk' : code === 'EROFS' ? 'write somewhere writable' : 'check the path and its permissions';
}

function invokedDirectly(): boolean {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}
if (invokedDirectly()) {
  // `dmc-trigger ... | head`: a reader that closes the pipe ends the program quietly, as other Unix tools do.
  // Any other failure to write them (`> /dev/full`, a full disk) is one line on stderr, if it can still be written, and exit 2.
  for (const [stream, name] of [
    [process.stdout, 'standard output'],
    [process.stderr, 'standard error'],
  ] as const) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      if (stream === process.stdout) {
        try {
          process.stderr.write(`error: ${name} cannot be written (${e.code ?? 'error'}: ${e.message.replace(/^E[A-Z]+: /, '')}): ${fixFor(e.code ?? '')}\n`);
        } catch {
          // stderr fails too: the exit code says it.
        }
      }
      process.exit(EXIT.USAGE);
    });
  }
  // main() answers every error with an exit code; it never rejects.
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
