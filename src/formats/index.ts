/**
 * `dmc-trigger/formats`: the whole formats and files layer, for programs that
 * need more than the root entry (the guide's tables, the streaming readers
 * and writer, the rules, SI exports, CRA reports). No socket library.
 */

// Tables of the guide
export { PARAMS, COMMAND_PARAMS, BLOCK_PARAMS, MULTIMEDIA_TYPES, MAX_ATTACHMENTS, DYNAMIC_FIELDS, lookupParam } from './params.js';
export type { ParamSpec, ParamScope, ParamType, CommandParamName, BlockParamName, MultimediaType, NameMatch } from './params.js';
export { COLUMNS, ADDRESS_COLUMNS, MAX_CONTACTS, lookupColumn, lookupXmlColumn } from './contacts.js';
export type { ContactColumn, ColumnSpec, ColumnKind } from './contacts.js';

// Model and findings
export { shapeOf } from './model.js';
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
  TriggerShape,
  ContactRow,
  ReadContact,
  ContactSource,
  OutputEncoding,
  TriggerHead,
  SourceLines,
} from './model.js';
export { FindingList, TriggerFormatError, finding, FINDING_CODES } from './findings.js';
export type { Finding, FindingCode, Severity, TriggerFormatErrorCode } from './findings.js';

// Encoding
export { checkValue, isLatin9, encodeLatin9, TRANSLITERATIONS, detectEncoding, normalizeEncodingName } from './encoding.js';
export type { ValuePolicy, ValueOutcome, ValueKind } from './encoding.js';

// Pure readers, writer, validator
export { readCsvTrigger } from './csv-reader.js';
export type { TriggerReading, ReadOptions } from './csv-reader.js';
export { readXmlTrigger } from './xml-reader.js';
export { encodeTrigger, TriggerEncoder, DEFAULT_EMPTY_HEADER } from './trigger-encoder.js';
export type { EncodeOptions, EncodeStats, EncodeTriggerInput, EncodedTrigger, SourcedRow, RowSource, TriggerFormat } from './trigger-encoder.js';
export { validateReading, checkContactsPresence } from './validate.js';
export type { ValidationReport } from './validate.js';
export { checkCommand, parseDmcDate } from './rules/command-rules.js';
export { ContactChecker, checkHeader } from './rules/contact-rules.js';
export { parseCommandFile, commandFromData, toParisWallClock } from './command-file.js';
export { readSiExport, readRecords, parseMapping, mapHeaders, normalizeHeader } from './si-export.js';
export type { ExportOptions, ExportReading, ContactRecord } from './si-export.js';
export { wavFormat, ALLOWED_WAV } from './wav.js';
export type { WavInfo } from './wav.js';

// Files
export { buildTriggerFiles, partPath, partBroadcastName } from '../files/build.js';
export type { BuildOptions, BuildResult, BuiltFile } from '../files/build.js';
export { validateTriggerFile, openTriggerFile, detectTriggerFormat } from '../files/read-trigger.js';
export type { ValidateFileOptions, OpenedTrigger } from '../files/read-trigger.js';
export { readCraFile } from '../files/reports.js';
export { convertTriggerFile } from '../files/convert.js';
export type { ConvertOptions, ConvertResult } from '../files/convert.js';
export { checkDocuments, referencedDocuments, DOCUMENT_EXTENSIONS } from '../files/documents.js';

// Reports (CRA)
export { readCra, summarizeCra, codesForLabel, codesForRecord, matchLabel, ackName, craFileName, CRA_NAME, CRA_HEADER, SUCCESS_CODES } from './cra.js';
export type { CraRecord, CraSummary, BroadcastSummary, ResultCount } from './cra.js';
export { CRA_CODES } from './cra-codes.js';
export type { CraCode, CraMedium } from './cra-codes.js';

// CRA push (guide §2.9)
export { parsePushReport, writePushReport, latestOf, finalOf, sortKey, PushFormatError, PUSH_MEDIA, PUSH_STATUS_RANK } from './push.js';
export type { PushReport, PushElement, PushHistoryEntry, PushMedium, PushLimits } from './push.js';
export { addressKey } from './address.js';
