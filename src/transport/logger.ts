/**
 * The structured logger the transport and the CLI write to (pino). Library
 * code never writes to the console; secrets never reach a log line: Secret
 * objects print as `[secret]` and the usual secret keys are redacted.
 */
import pino from 'pino';
import pretty from 'pino-pretty';

export type Logger = pino.Logger;

export const REDACT = ['password', 'passphrase', 'privateKey', '*.password', '*.passphrase', '*.privateKey', 'transport.password', 'transport.passphrase', 'transport.privateKey'];

/** A logger to a stream (stderr by default), JSON lines. */
export function createLogger(opts: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  return pino({ level: opts.level ?? 'info', redact: { paths: REDACT, censor: '[secret]' }, base: undefined }, (opts.destination ?? process.stderr) as pino.DestinationStream);
}

/** For the CLI: readable lines on a terminal, JSON lines otherwise, on stderr. */
export function cliLogger(level = 'warn'): Logger {
  if (process.stderr.isTTY) {
    return pino({ level, redact: { paths: REDACT, censor: '[secret]' }, base: undefined }, pretty({ destination: 2, sync: true, colorize: true, ignore: 'time', singleLine: true }));
  }
  return createLogger({ level });
}

/** A logger that drops everything (library default). */
export const silentLogger: Logger = pino({ level: 'silent' });
