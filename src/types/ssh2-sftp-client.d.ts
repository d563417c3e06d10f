// The parts of ssh2-sftp-client 12 this project uses. Its author ships no
// types and @types/ssh2-sftp-client is years behind: declared here, checked
// by the in-process and OpenSSH tests.
declare module 'ssh2-sftp-client' {
  import type { ConnectConfig, Client as SshClient } from 'ssh2';
  import type { Readable, Writable } from 'node:stream';

  interface FileInfo {
    type: '-' | 'd' | 'l';
    name: string;
    size: number;
    modifyTime: number;
  }
  interface FileStats {
    size: number;
    modifyTime: number;
    isDirectory: boolean;
    isFile: boolean;
  }
  interface Callbacks {
    error: (err: Error) => void;
    end: () => void;
    close: () => void;
  }

  class SftpClient {
    constructor(name?: string, callbacks?: Callbacks);
    client: SshClient;
    /** The session's SFTP channel once connected. */
    sftp: import('ssh2').SFTPWrapper;
    connect(config: ConnectConfig & { sock?: import('node:net').Socket; promiseLimit?: number }): Promise<unknown>;
    stat(path: string): Promise<FileStats>;
    list(path: string): Promise<FileInfo[]>;
    rename(from: string, to: string): Promise<string>;
    delete(path: string, notFoundOK?: boolean): Promise<string>;
    fastPut(local: string, remote: string): Promise<string>;
    createWriteStream(path: string, options?: { flags?: string; mode?: number }): Writable;
    createReadStream(path: string, options?: { start?: number }): Readable;
    end(): Promise<boolean>;
  }
  export default SftpClient;
}
