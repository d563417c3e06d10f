/**
 * Watches a drop folder and reports a file only once it is complete
 * (transport-pitfalls.md, chokidar): temporary names are ignored (`*.part`,
 * `*.tmp`, `*.uploading`, dot-files); size and mtime must stay unchanged for
 * `stableMs`, for files found at start too (chokidar's awaitWriteFinish does
 * not hold those); an optional done-marker mode waits for `<file>.done`; a
 * periodic rescan catches events a watch missed (network shares).
 *
 * A folder that cannot be read (an unmounted share, a removed folder) or a
 * watch error is never taken for an empty folder: `onHealth` says so, and
 * the folder is read again every 2 s until it can be.
 */
import { lstat, readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { exportsFor, isSidecarName } from './sidecar.js';

export interface DropWatcherOptions {
  readonly folder: string;
  readonly stableMs: number;
  readonly rescanMs: number;
  readonly doneMarker: boolean;
  /** Polling instead of OS events (NFS, SMB). */
  readonly usePolling: boolean;
  /** A complete file is ready (absolute path). Called once per file until it leaves the folder. */
  readonly onReady: (path: string) => void;
  /** A file that is not taken, and why (said once per file). */
  readonly onSkipped?: (path: string, why: string) => void;
  /** The folder became unreadable (with why), or readable again. */
  readonly onHealth?: (healthy: boolean, error?: string) => void;
  /** A sidecar (`*.command.yaml`) that no export in the folder can take, stable for `stableMs`: said once. */
  readonly onOrphanSidecar?: (path: string) => void;
}

const UNHEALTHY_RETRY_MS = 2000;
/** The longest wait for a watch to be live at start (then the rescans alone look at the folder until it is). */
const WATCH_READY_MS = 5000;
/** With a polling watch: when to look at the folder again after the watch is ready, its poll's first look made (it polls every 100 ms). */
const POLL_SETTLE_MS = 2000;

/** The longest file name taken, in bytes: 255 (the usual file system limit) less what the daemon adds to it. */
export const MAX_NAME_BYTES = 230;

/** The daemon's own subfolders of a drop folder: a file under one of these names is never an input. */
const OWN_FOLDERS = new Set(['work', 'sent', 'failed', 'results']);

/** Names the daemon never takes: temporary files, markers, sidecars, its own error files and folders. */
export function ignoredName(name: string): boolean {
  return OWN_FOLDERS.has(name) || name.startsWith('.') || /\.(part|tmp|uploading|done|error\.txt)$/i.test(name) || isSidecarName(name) || /~$/.test(name);
}

export class DropWatcher {
  private watcher: FSWatcher | undefined;
  private timers: NodeJS.Timeout[] = [];
  /** With a polling watch: the look at the folder once the poll's first look is surely made. */
  private settle: NodeJS.Timeout | undefined;
  private readonly seen = new Map<string, { size: number; mtime: number; since: number }>();
  private readonly reported = new Set<string>();
  private closed = false;
  private healthy: boolean | undefined;
  private readonly linksSaid = new Set<string>();
  private lastRescan = 0;
  /** Sidecars without their export: first seen (size, time); reported once each. */
  private readonly sidecars = new Map<string, { size: number; mtime: number; since: number }>();
  private readonly orphansSaid = new Set<string>();

  constructor(private readonly opts: DropWatcherOptions) {}

  get folder(): string {
    return this.opts.folder;
  }

  async start(): Promise<void> {
    // The watch first, live (chokidar's first scan done), then a look at the folder: a file that arrives between the
    // two is seen by both, never by neither. Told to ignore what its own first scan finds, chokidar would take a file
    // written before it was ready for one already there and never say it (until the next rescan, a minute later).
    await this.watch();
    await this.rescan();
    this.timers.push(
      setInterval(() => {
        void this.rescan();
      }, this.opts.rescanMs),
    );
    this.timers.push(
      setInterval(
        () => {
          void this.check();
        },
        Math.max(100, Math.min(1000, this.opts.stableMs / 2)),
      ),
    );
    for (const t of this.timers) t.unref();
  }

  /**
   * (Re)starts the OS watch: after the folder was gone, the old watch follows a folder that no longer exists.
   * Resolves once the watch is live (chokidar's `ready`).
   */
  private watch(): Promise<void> {
    void this.watcher?.close();
    const watcher = watch(this.opts.folder, {
      depth: 0,
      ignoreInitial: true,
      usePolling: this.opts.usePolling,
      ignored: (p: string) => p !== this.opts.folder && ignoredName(p.split('/').pop() ?? ''),
    });
    const note = (p: string): void => {
      void this.observe(p);
    };
    this.watcher = watcher;
    // Bounded: a watch whose first scan errs or hangs (a share that does not answer) must not hold the start; the
    // rescan after it and the periodic ones still look at the folder.
    const ready = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, WATCH_READY_MS);
      timer.unref();
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      watcher.once('ready', done).once('error', done);
    });
    watcher
      .on('add', note)
      .on('change', note)
      .on('unlink', (p: string) => {
        this.seen.delete(p);
        this.reported.delete(p);
      });
    watcher.on('error', (e: unknown) => {
      this.setHealth(false, `watch error: ${(e as Error).message ?? String(e)}`);
    });
    // A polling watch (network shares) is not live at chokidar's ready: fs.watchFile takes its first look at the folder
    // on the thread pool, later, and a file that arrives before that look is part of what it compares against, never
    // reported. One more look once that first one is surely made closes the window, at start and after a re-watch
    // alike (not left to the periodic rescan).
    if (this.opts.usePolling)
      void ready.then(() => {
        if (this.closed) return;
        clearTimeout(this.settle);
        this.settle = setTimeout(() => {
          if (!this.closed) void this.rescan();
        }, POLL_SETTLE_MS);
        this.settle.unref();
      });
    return ready;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    clearTimeout(this.settle);
    await this.watcher?.close();
  }

  /** Forgets a file (it left the folder): a new file of the same name is a new input. */
  forget(path: string): void {
    this.linksSaid.delete(path);
    this.seen.delete(path);
    this.reported.delete(path);
  }

  private setHealth(healthy: boolean, error?: string): void {
    if (this.healthy === healthy && healthy) return;
    const changed = this.healthy !== healthy;
    // Watched again, then looked at again once the watch is live: what arrived in between is not left to the next rescan.
    if (healthy && this.healthy === false && !this.closed) void this.watch().then(() => (this.closed ? undefined : this.rescan()));
    this.healthy = healthy;
    if (changed) this.opts.onHealth?.(healthy, error);
  }

  /** Looks at the folder again now (also when this node becomes the account's leader: what waited is taken). */
  async rescan(): Promise<void> {
    if (this.closed) return;
    this.lastRescan = Date.now();
    let names: string[];
    try {
      names = await readdir(this.opts.folder);
      const st = await stat(this.opts.folder);
      if (!st.isDirectory()) throw new Error('not a folder');
    } catch (e) {
      this.setHealth(false, `cannot read ${this.opts.folder}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      return;
    }
    this.setHealth(true);
    const present = new Set(names.map((n) => join(this.opts.folder, n)));
    for (const p of [...this.reported]) if (!present.has(p)) this.forget(p);
    for (const n of names) if (!ignoredName(n)) await this.observe(join(this.opts.folder, n));
    await this.lookForOrphans(names);
  }

  /**
   * A sidecar with no export in the folder, unchanged since the last rescan
   * and at least stableSeconds old, is an orphan: said once (the daemon
   * refuses it) rather than left in the folder for ever.
   */
  private async lookForOrphans(names: readonly string[]): Promise<void> {
    if (!this.opts.onOrphanSidecar) return;
    const candidates = names.filter((n) => !ignoredName(n));
    const present = new Set<string>();
    for (const n of names) {
      if (!isSidecarName(n)) continue;
      const path = join(this.opts.folder, n);
      present.add(path);
      if (this.orphansSaid.has(path)) continue;
      if (exportsFor(n, candidates).length) {
        this.sidecars.delete(path);
        continue;
      }
      const st = await lstat(path).catch(() => undefined);
      if (!st) continue;
      const prev = this.sidecars.get(path);
      if (!prev || prev.size !== st.size || prev.mtime !== st.mtimeMs) {
        this.sidecars.set(path, { size: st.size, mtime: st.mtimeMs, since: Date.now() });
        continue;
      }
      if (Date.now() - prev.since < this.opts.stableMs) continue;
      this.sidecars.delete(path);
      this.orphansSaid.add(path);
      this.opts.onOrphanSidecar(path);
    }
    for (const p of [...this.sidecars.keys()]) if (!present.has(p)) this.sidecars.delete(p);
    for (const p of [...this.orphansSaid]) if (!present.has(p)) this.orphansSaid.delete(p);
  }

  private async observe(path: string): Promise<void> {
    if (this.closed || this.reported.has(path)) return;
    // lstat: a link is never followed (it could point at any file the daemon can read); only regular files are taken.
    const st = await lstat(path).catch(() => undefined);
    if (st?.isSymbolicLink() && !this.linksSaid.has(path)) {
      this.linksSaid.add(path);
      this.opts.onSkipped?.(path, 'a symbolic link: links are never followed; copy the file itself into the folder');
    }
    if (!st?.isFile()) {
      this.seen.delete(path);
      return;
    }
    // The daemon's own names add up to 25 bytes (`<id>-<name>.command.yaml` in work/, ids up to 10 digits): a longer name could not be carried.
    const bytes = Buffer.byteLength(basename(path));
    if (bytes > MAX_NAME_BYTES) {
      if (!this.linksSaid.has(path)) {
        this.linksSaid.add(path);
        this.opts.onSkipped?.(
          path,
          `its name is ${bytes} bytes long: at most ${MAX_NAME_BYTES} (the daemon adds up to 25 to it in work/, sent/ and failed/, within the file system's 255); rename it shorter`,
        );
      }
      this.seen.delete(path);
      return;
    }
    const prev = this.seen.get(path);
    if (!prev || prev.size !== st.size || prev.mtime !== st.mtimeMs) this.seen.set(path, { size: st.size, mtime: st.mtimeMs, since: Date.now() });
  }

  private async check(): Promise<void> {
    const now = Date.now();
    if (this.healthy === false && now - this.lastRescan >= UNHEALTHY_RETRY_MS) await this.rescan();
    for (const [path, s] of [...this.seen]) {
      await this.observe(path);
      const cur = this.seen.get(path);
      if (!cur || cur.since !== s.since || now - cur.since < this.opts.stableMs) continue;
      if (
        this.opts.doneMarker &&
        !(await stat(`${path}.done`).then(
          () => true,
          () => false,
        ))
      )
        continue;
      this.seen.delete(path);
      this.reported.add(path);
      this.opts.onReady(path);
    }
  }
}
