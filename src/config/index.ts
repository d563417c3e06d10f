/** `dmc-trigger/config`: the configuration file (docs/config.md), read and checked. */
export { loadConfig, parseConfig, loadAccounts, parseAccounts, pickAccount, ConfigError, Secret } from './config.js';
export type { ResolvedConfig, ConfigErrorCode, LoadOptions, MailConfig, AccountSet, AccountEntry } from './config.js';
