/**
 * The real servers' environment (scripts/interop-servers.sh writes it):
 * undefined when they are not running. In CI their absence is an error; on a
 * developer's machine the interop tests skip and say why, once per file.
 */
import { existsSync, readFileSync } from 'node:fs';

export interface InteropEnv {
  host: string;
  sshPort: number;
  ftpPort: number;
  imapPort?: number;
  imapUser?: string;
  user: string;
  password: string;
  hostKey: string;
  clientKey: string;
  home: string;
  serviceId: string;
}

export function interopEnv(testFile: string): InteropEnv | undefined {
  const envPath = process.env['DMC_INTEROP_ENV'] ?? '/tmp/dmc-interop/env.json';
  const env = existsSync(envPath) ? (JSON.parse(readFileSync(envPath, 'utf8')) as InteropEnv) : undefined;
  if (!env && process.env['CI']) throw new Error(`interop servers are not running (${envPath} missing): .ci/run must run scripts/interop-servers.sh start`);
  if (!env) {
    console.warn(
      `${testFile.split('/').pop()}: skipped, the real servers are not running (${envPath} missing): apt-get install openssh-server vsftpd dovecot-imapd, then bash scripts/interop-servers.sh start`,
    );
  }
  return env;
}
