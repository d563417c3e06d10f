/**
 * dmc-trigger: drive SFR Business DMC broadcasts by trigger files.
 *
 * The root entry holds what most programs need: build a trigger from a
 * command and contacts, validate or convert one, read a daily report. It
 * loads the formats and files layers only (no socket library). The rest is
 * under subpaths: `dmc-trigger/formats` (tables, streaming readers and
 * writer, rules), `dmc-trigger/config`, `dmc-trigger/transport` ((S)FTP,
 * the upload handshake, reports), `dmc-trigger/mail` (email triggers,
 * mail2sms, replies), `dmc-trigger/daemon`, `dmc-trigger/simulator`.
 * docs/library.md shows each with an example that the tests run.
 */
export { buildTrigger, validateTrigger, convertTrigger, readReport, reportRecords } from './api.js';
export type { BuildTriggerOptions, ContactsInput, ValidateTriggerOptions, ConvertTriggerOptions, ReportReading } from './api.js';

export type {
  CommandInput,
  MessageInput,
  NumberValue,
  FlagValue,
  UserLang,
  Priority,
  TtsVoice,
  MultimediaTypeName,
  TriggerCommand,
  MessageBlock,
  OutputEncoding,
} from './formats/model.js';
export type { ContactColumn } from './formats/contacts.js';
export type { ContactRecord } from './formats/si-export.js';
export type { TriggerFormat } from './formats/trigger-encoder.js';
export { TriggerFormatError, FindingList } from './formats/findings.js';
export type { Finding, FindingCode, Severity } from './formats/findings.js';
export type { BuildResult, BuiltFile } from './files/build.js';
export type { ConvertResult } from './files/convert.js';
export type { ValidationReport } from './formats/validate.js';
export type { CraRecord, CraSummary, BroadcastSummary, ResultCount } from './formats/cra.js';
