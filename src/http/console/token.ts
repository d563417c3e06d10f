/** The console's access token: read from its file, or created there (mode 0600) on first start. */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '../../transport/logger.js';

export async function consoleToken(path: string, logger: Logger): Promise<string> {
  try {
    const token = (await readFile(path, 'utf8')).trim();
    if (token.length < 16) throw new Error(`${path} holds a token shorter than 16 characters: put a longer one there, or delete the file to have one made`);
    if ((await stat(path)).mode & 0o077) logger.warn({ file: path }, `the console's token file can be read by other users: chmod 600 ${path}`);
    return token;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const token = randomBytes(24).toString('base64url');
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${token}\n`, { mode: 0o600, flag: 'wx' });
  logger.info({ file: path }, "the console's access token was created in this file");
  return token;
}
