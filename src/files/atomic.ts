/**
 * Output files appear complete or not at all: bytes go to a temporary name
 * in the same folder, are fsynced, and renamed over the final name only when
 * everything succeeded. A failed build leaves nothing at the output path.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** A file being written under a temporary name. */
export class PendingFile {
  readonly tempPath: string;
  private done = false;

  constructor(readonly path: string) {
    // The name's first 50 characters (at most 200 bytes): with the pid and a random part it stays within the
    // file system's 255 bytes for any name that fits there itself, and unique.
    const stem = [...basename(path)].slice(0, 50).join('');
    this.tempPath = join(dirname(path), `.${stem}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  }

  /** Writes all chunks to the temporary file and fsyncs it. */
  async write(chunks: AsyncIterable<Uint8Array>): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    await pipeline(Readable.from(chunks), createWriteStream(this.tempPath, { flags: 'wx' }));
    const fh = await open(this.tempPath, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  /** Renames the temporary file to its final name. */
  async commit(): Promise<void> {
    await rename(this.tempPath, this.path);
    this.done = true;
    await syncDir(dirname(this.path));
  }

  /** Removes the temporary file (safe to call after commit). */
  async discard(): Promise<void> {
    if (!this.done) await rm(this.tempPath, { force: true });
  }
}

async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Some file systems refuse fsync on a directory; the rename itself is atomic.
  }
}

/** Writes a whole small file atomically, its folder made if needed (an error or warnings file a reader may open the moment it appears). */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const f = new PendingFile(path);
  try {
    await f.write(
      (async function* () {
        yield typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      })(),
    );
    await f.commit();
  } finally {
    await f.discard();
  }
}
