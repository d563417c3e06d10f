/**
 * `dmc-trigger/transport`: the (S)FTP account: connect (host keys pinned),
 * send a trigger with the `.uploading` handshake (documents first), follow
 * its outcome, fetch and ack the daily reports.
 */
export { TransportError, isTransient, remoteJoin, plainName } from './transport.js';
export type { Transport, RemoteEntry, TransportErrorCode, ChunkReader, BeforeChunk } from './transport.js';
export { SftpTransport } from './sftp.js';
export { FtpTransport } from './ftp.js';
export { createTransport, openAccount } from './connect.js';
export { Session } from './session.js';
export { sendTrigger, trackOutcome, uploadWithHandshake, fileSource, uniqueRemoteName, resolveRemoteRoot, fileHash, UPLOADING_SUFFIX } from './handshake.js';
export type { SendInput, SendResult, SendStep, HandshakeOptions, Outcome, UploadSource } from './handshake.js';
export { fetchReports } from './reports.js';
export type { FetchReportsOptions, ReportOutcome } from './reports.js';
export { fingerprint, verifyHostKey, readKnownHosts, recordHostKey, knownHostName } from './host-keys.js';
export type { HostKeyVerdict, HostKeyPolicy } from './host-keys.js';
export { createLogger, silentLogger } from './logger.js';
export type { Logger } from './logger.js';
