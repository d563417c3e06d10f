/**
 * A drop folder's watch at start: a file that arrives just after the daemon
 * says it started is taken at once, not at the next periodic rescan (CI saw
 * one wait past a minute: chokidar, told to ignore what its own first scan
 * finds, took the file for one already there and never said it).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DropWatcher } from '../../src/daemon/watcher.js';

describe('drop watcher start', () => {
  const dirs: string[] = [];
  const watchers: DropWatcher[] = [];
  afterEach(async () => {
    for (const w of watchers.splice(0)) await w.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  for (const usePolling of [false, true])
    it(`a file written right after start() resolves is reported without a rescan${usePolling ? ' (polling)' : ''}`, async () => {
      // Several folders at once, as a daemon with several drop folders starts them: each one's watch must be live.
      const found: string[] = [];
      const folders = Array.from({ length: 8 }, () => mkdtempSync(join(tmpdir(), 'dmc-watch-start-')));
      dirs.push(...folders);
      for (const folder of folders) {
        const w = new DropWatcher({
          folder,
          stableMs: 50,
          // No periodic rescan within the test: only the watch can see the file.
          rescanMs: 3_600_000,
          doneMarker: false,
          usePolling,
          onReady: (p) => found.push(p),
        });
        watchers.push(w);
        await w.start();
        writeFileSync(join(folder, 'export.csv'), 'Nom;Mobile\nA;0612345678\n');
      }
      const end = Date.now() + 15_000;
      while (found.length < folders.length && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      expect(found.sort()).toEqual(folders.map((f) => join(f, 'export.csv')).sort());
    });
});
