/**
 * dmc-trigger: the public API. Everything a user of the library needs is
 * exported here with its types; other modules are internal.
 */

// Tables of the guide
export { PARAMS, COMMAND_PARAMS, BLOCK_PARAMS, MULTIMEDIA_TYPES, MAX_ATTACHMENTS, DYNAMIC_FIELDS, lookupParam } from './formats/params.js';
export type { ParamSpec, ParamScope, ParamType, CommandParamName, BlockParamName, MultimediaType, NameMatch } from './formats/params.js';
export { COLUMNS, ADDRESS_COLUMNS, MAX_CONTACTS, lookupColumn, lookupXmlColumn } from './formats/contacts.js';
export type { ContactColumn, ColumnSpec, ColumnKind } from './formats/contacts.js';

// Model and findings
export { shapeOf } from './formats/model.js';
export type { TriggerCommand, MessageBlock, TriggerShape, ContactRow, ReadContact, ContactSource, OutputEncoding, TriggerHead, SourceLines } from './formats/model.js';
export { FindingList, TriggerFormatError, finding, FINDING_CODES } from './formats/findings.js';
export type { Finding, FindingCode, Severity, TriggerFormatErrorCode } from './formats/findings.js';

// Encoding
export { checkValue, isLatin9, encodeLatin9, TRANSLITERATIONS, detectEncoding, normalizeEncodingName } from './formats/encoding.js';
export type { ValuePolicy, ValueOutcome, ValueKind } from './formats/encoding.js';

// Pure readers, writer, validator
export { readCsvTrigger } from './formats/csv-reader.js';
export type { TriggerReading, ReadOptions } from './formats/csv-reader.js';
export { readXmlTrigger } from './formats/xml-reader.js';
export { encodeTrigger, TriggerEncoder, DEFAULT_EMPTY_HEADER } from './formats/trigger-encoder.js';
export type { EncodeOptions, EncodeStats, SourcedRow, RowSource, TriggerFormat } from './formats/trigger-encoder.js';
export { validateReading, checkContactsPresence } from './formats/validate.js';
export type { ValidationReport } from './formats/validate.js';
export { checkCommand, parseDmcDate } from './formats/rules/command-rules.js';
export { ContactChecker, checkHeader } from './formats/rules/contact-rules.js';
export { parseCommandFile, toParisWallClock } from './formats/command-file.js';
export { readSiExport, parseMapping, mapHeaders, normalizeHeader } from './formats/si-export.js';
export type { ExportOptions, ExportReading } from './formats/si-export.js';
export { wavFormat, ALLOWED_WAV } from './formats/wav.js';
export type { WavInfo } from './formats/wav.js';

// Files
export { buildTriggerFiles, partPath, partBroadcastName } from './files/build.js';
export type { BuildOptions, BuildResult, BuiltFile } from './files/build.js';
export { validateTriggerFile, openTriggerFile, detectTriggerFormat } from './files/read-trigger.js';
export type { ValidateFileOptions } from './files/read-trigger.js';
export { convertTriggerFile } from './files/convert.js';
export type { ConvertOptions, ConvertResult } from './files/convert.js';
export { checkDocuments, referencedDocuments, DOCUMENT_EXTENSIONS } from './files/documents.js';
export { PendingFile } from './files/atomic.js';

// Reports (CRA)
export { readCra, summarizeCra, codesForLabel, codesForRecord, ackName, craFileName, CRA_NAME, CRA_HEADER, SUCCESS_CODES } from './formats/cra.js';
export type { CraRecord, CraSummary, BroadcastSummary, ResultCount } from './formats/cra.js';
export { CRA_CODES } from './formats/cra-codes.js';
export type { CraCode, CraMedium } from './formats/cra-codes.js';

// Configuration
export { loadConfig, parseConfig, ConfigError, Secret } from './config/config.js';
export type { ResolvedConfig, ConfigErrorCode, LoadOptions } from './config/config.js';

// Transport
export { TransportError, isTransient, remoteJoin, plainName } from './transport/transport.js';
export type { Transport, RemoteEntry, TransportErrorCode } from './transport/transport.js';
export { SftpTransport } from './transport/sftp.js';
export { FtpTransport } from './transport/ftp.js';
export { activeMode, portCommand } from './transport/ftp-active.js';
export type { ActiveModeOptions } from './transport/ftp-active.js';
export { createTransport, openAccount } from './transport/connect.js';
export { Session } from './transport/session.js';
export { sendTrigger, trackOutcome, uploadWithHandshake, fileSource, uniqueRemoteName, resolveRemoteRoot, fileHash, UPLOADING_SUFFIX } from './transport/handshake.js';
export type { SendInput, SendResult, SendStep, HandshakeOptions, Outcome, UploadSource } from './transport/handshake.js';
export { fetchReports } from './transport/reports.js';
export type { FetchReportsOptions, ReportOutcome } from './transport/reports.js';
export { fingerprint, verifyHostKey, readKnownHosts, recordHostKey, knownHostName } from './transport/host-keys.js';
export type { HostKeyVerdict, HostKeyPolicy } from './transport/host-keys.js';
export { createLogger, silentLogger } from './transport/logger.js';
export type { Logger } from './transport/logger.js';
