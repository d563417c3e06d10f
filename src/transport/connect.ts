/** Chooses the transport from the configuration. */
import { ConfigError, type ResolvedConfig } from '../config/config.js';
import { FtpTransport } from './ftp.js';
import type { Logger } from './logger.js';
import { SftpTransport } from './sftp.js';
import type { Transport } from './transport.js';
import { resolveRemoteRoot } from './handshake.js';
import { Session } from './session.js';

export function createTransport(config: Pick<ResolvedConfig, 'transport' | 'timeouts'>, logger: Logger): Transport {
  const opts = { transport: config.transport, timeouts: config.timeouts, logger };
  return config.transport.protocol === 'sftp' ? new SftpTransport(opts) : new FtpTransport(opts);
}

/** A retrying session on the configured account, and the account's root folder. */
export async function openAccount(config: ResolvedConfig, logger: Logger): Promise<{ session: Session; remoteRoot: string }> {
  if (!config.hasTransport)
    throw new ConfigError('CONFIG_INVALID', `${config.file}: no transport section: send and reports fetch need one (docs/config.md)`, config.file, 'transport');
  const session = new Session(() => createTransport(config, logger), { retries: config.retries, logger });
  try {
    const remoteRoot = await resolveRemoteRoot(session, config.service.serviceId, config.transport.remoteRoot);
    return { session, remoteRoot };
  } catch (e) {
    await session.close();
    throw e;
  }
}
