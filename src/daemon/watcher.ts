/**
 * Watches a drop folder and reports a file only once it is complete
 * (transport-pitfalls.md, chokidar): temporary names are ignored (`*.part`,
 * `*.tmp`, `*.uploading`, dot-files); size and mtime must stay unchanged for
 * `stableMs`, for files found at start too (chokidar's awaitWriteFinish does
 * not hold those); an optional done-marker mode waits for `<file>.done`; a
 * periodic rescan catches events a watch missed (network shares).
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';

export interface DropWatcherOptions {
  readonly folder: string;
  readonly stableMs: number;
  readonly rescanMs: number;
  readonly doneMarker: boolean;
  /** Polling instead of OS events (NFS, SMB). */
  readonly usePolling: boolean;
  /** A complete file is ready (absolute path). Called once per file until it leaves the folder. */
  readonly onReady: (path: string) => void;
}

/** Names the daemon never takes: temporary files, markers, sidecars, its own error files. */
export function ignoredName(name: string): boolean {
  return name.startsWith('.') || /\.(part|tmp|uploading|done|error\.txt)$/i.test(name) || /\.command\.ya?ml$/i.test(name) || /~$/.test(name);
}

export class DropWatcher {
  private watcher: FSWatcher | undefined;
  private timers: NodeJS.Timeout[] = [];
  private readonly seen = new Map<string, { size: number; mtime: number; since: number }>();
  private readonly reported = new Set<string>();
  private closed = false;

  constructor(private readonly opts: DropWatcherOptions) {}

  get folder(): string { return this.opts.folder; }

  async start(): Promise<void> {
    this.watcher = watch(this.opts.folder, { depth: 0, ignoreInitial: true, usePolling: this.opts.usePolling, ignored: (p: string) => p !== this.opts.folder && ignoredName(p.split('/').pop() ?? '') });
    const note = (p: string): void => { void this.observe(p); };
    this.watcher.on('add', note).on('change', note).on('unlink', (p: string) => { this.seen.delete(p); this.reported.delete(p); });
    this.watcher.on('error', () => undefined);
    await this.rescan();
    this.timers.push(setInterval(() => { void this.rescan(); }, this.opts.rescanMs));
    this.timers.push(setInterval(() => { void this.check(); }, Math.max(100, Math.min(1000, this.opts.stableMs / 2))));
    for (const t of this.timers) t.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    await this.watcher?.close();
  }

  /** Forgets a file (it left the folder): a new file of the same name is a new input. */
  forget(path: string): void {
    this.seen.delete(path);
    this.reported.delete(path);
  }

  private async rescan(): Promise<void> {
    const names = await readdir(this.opts.folder).catch(() => [] as string[]);
    const present = new Set(names.map((n) => join(this.opts.folder, n)));
    for (const p of [...this.reported]) if (!present.has(p)) this.forget(p);
    for (const n of names) if (!ignoredName(n)) await this.observe(join(this.opts.folder, n));
  }

  private async observe(path: string): Promise<void> {
    if (this.closed || this.reported.has(path)) return;
    const st = await stat(path).catch(() => undefined);
    if (!st?.isFile()) { this.seen.delete(path); return; }
    const prev = this.seen.get(path);
    if (!prev || prev.size !== st.size || prev.mtime !== st.mtimeMs) this.seen.set(path, { size: st.size, mtime: st.mtimeMs, since: Date.now() });
  }

  private async check(): Promise<void> {
    const now = Date.now();
    for (const [path, s] of [...this.seen]) {
      await this.observe(path);
      const cur = this.seen.get(path);
      if (!cur || cur.since !== s.since || now - cur.since < this.opts.stableMs) continue;
      if (this.opts.doneMarker && !(await stat(`${path}.done`).then(() => true, () => false))) continue;
      this.seen.delete(path);
      this.reported.add(path);
      this.opts.onReady(path);
    }
  }
}
