/** Another daemon uses this journal (a SQLite lock file, or a PostgreSQL session lock): one line, exit 2. */
export class JournalLockedError extends Error {
  override readonly name = 'JournalLockedError';
  constructor(
    readonly lockPath: string,
    readonly pid: number,
  ) {
    super(`another daemon (pid ${pid}) uses this journal (${lockPath}): one daemon per journal; stop it first`);
  }
}
