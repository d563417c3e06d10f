/**
 * A polling watch (network shares) is not live when chokidar says ready:
 * Node's `fs.watchFile` takes its first look at the folder on the thread
 * pool, later, and a file that arrives before that look is part of what it
 * compares against, so it is never reported. CI saw it once under load
 * (watcher-start.test.ts, polling). Here the first look is made late on
 * purpose: `fs.watchFile` is wrapped so that the poll starts only once the
 * file is there. The watcher must still report the file without its
 * periodic rescan (an hour here).
 */
import fs, { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { DropWatcher } from '../../src/daemon/watcher.js';

const realWatchFile = fs.watchFile;
const dirs: string[] = [];
let watcher: DropWatcher | undefined;
afterEach(async () => {
  fs.watchFile = realWatchFile;
  syncBuiltinESMExports();
  await watcher?.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

it('a file that arrives before the polling watch has taken its first look is reported without a rescan', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'dmc-watch-poll-'));
  dirs.push(folder);
  let release!: () => void;
  const fileWritten = new Promise<void>((resolve) => (release = resolve));
  const late: string[] = [];
  // chokidar imports watchFile from node:fs; syncBuiltinESMExports makes its binding this wrapper.
  fs.watchFile = ((path: string, options: unknown, listener: unknown) => {
    late.push(path);
    void fileWritten.then(() => (realWatchFile as (...a: unknown[]) => unknown)(path, options, listener));
    return undefined;
  }) as unknown as typeof fs.watchFile;
  syncBuiltinESMExports();

  const found: string[] = [];
  watcher = new DropWatcher({ folder, stableMs: 50, rescanMs: 3_600_000, doneMarker: false, usePolling: true, onReady: (p) => found.push(p) });
  await watcher.start();
  writeFileSync(join(folder, 'export.csv'), 'Nom;Mobile\nA;0612345678\n');
  release();
  expect(late).toContain(folder); // the folder's poll did go through the wrapper: the late first look happened

  const end = Date.now() + 10_000;
  while (found.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  expect(found).toEqual([join(folder, 'export.csv')]);
});
