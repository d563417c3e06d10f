/** Chooses the transport from the configuration. */
import type { ResolvedConfig } from '../config/config.js';
import { FtpTransport } from './ftp.js';
import type { Logger } from './logger.js';
import { SftpTransport } from './sftp.js';
import type { Transport } from './transport.js';

export function createTransport(config: Pick<ResolvedConfig, 'transport' | 'timeouts'>, logger: Logger): Transport {
  const opts = { transport: config.transport, timeouts: config.timeouts, logger };
  return config.transport.protocol === 'sftp' ? new SftpTransport(opts) : new FtpTransport(opts);
}
