/** `dmc-trigger/config`: the configuration file (docs/config.md), read and checked. */
export { loadConfig, parseConfig, ConfigError, Secret } from './config.js';
export type { ResolvedConfig, ConfigErrorCode, LoadOptions, MailConfig } from './config.js';
