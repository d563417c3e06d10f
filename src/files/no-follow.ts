/**
 * Opening a file never through a link, for files taken from folders others
 * can write to (a drop folder, and the daemon's own folders inside it):
 * `O_NOFOLLOW`, and only a regular file, checked on the handle that is then
 * read, so nothing can be swapped in between.
 */
import { constants as fsConstants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { printable } from '../formats/printable.js';

/** A link or a folder where a regular file was expected: its content is never read. */
export class NotRegularFileError extends Error {
  override readonly name = 'NotRegularFileError';
  constructor(
    /** The file as the message names it. */
    readonly shown: string,
    what: string,
  ) {
    super(`${printable(shown)} is ${what}, not a regular file: not read (links are never followed)`);
  }
}

/** Opens `path` for reading if it is a regular file and not a link; `shown` names it in the error. */
export async function openRegular(path: string, shown = basename(path)): Promise<FileHandle> {
  let fh: FileHandle;
  try {
    fh = await open(path, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw new NotRegularFileError(shown, 'a symbolic link');
    throw e;
  }
  if (!(await fh.stat()).isFile()) {
    await fh.close();
    throw new NotRegularFileError(shown, 'a folder or a device');
  }
  return fh;
}

/** The text of a regular file, never read through a link. */
export async function readRegularFile(path: string, shown = basename(path)): Promise<string> {
  const fh = await openRegular(path, shown);
  try {
    return await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
}
