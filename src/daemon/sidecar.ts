/**
 * Per-export command files ("sidecars"): which names belong to which export,
 * and what happens to one that belongs to none.
 *
 * An export `promo.csv` takes `promo.csv.command.yaml` or
 * `promo.command.yaml` (`.yml` too). The sidecar is moved to work/ before
 * its export (so that a look at the drop folder never sees the sidecar
 * without its export while the export is being taken), keeps its own name
 * there (`000012-promo.command.yaml`) and in sent/ or failed/, beside its
 * export. Two sidecars for one export fail it: nothing is sent with a text
 * chosen between two.
 */
import { lstat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

const SIDECAR = /\.command\.ya?ml$/i;

/** True for a name that is a sidecar. */
export function isSidecarName(name: string): boolean {
  return SIDECAR.test(name);
}

/** The export name a sidecar's name is made from: `promo.csv` or `promo` (no extension). */
export function sidecarStem(name: string): string {
  return name.replace(SIDECAR, '');
}

/** The name without its last extension (`promo.csv` → `promo`; `promo` stays). */
function withoutExtension(name: string): string {
  return name.replace(/\.[^.]+$/, '');
}

/** Whether the sidecar `sidecar` belongs to the export `exportName`. */
export function sidecarBelongsTo(sidecar: string, exportName: string): boolean {
  const stem = sidecarStem(sidecar);
  return stem === exportName || stem === withoutExtension(exportName);
}

/**
 * The sidecars present beside a file (in its folder, same prefix), sorted:
 * a look at each of the four names it can take, never a listing of the
 * folder (a drop folder may hold thousands of files).
 */
export async function sidecarsBeside(path: string, prefix = ''): Promise<string[]> {
  const dir = dirname(path);
  const name = basename(path).slice(prefix.length);
  const stems = [...new Set([name, withoutExtension(name)])];
  const found: string[] = [];
  for (const stem of stems)
    for (const ext of ['yaml', 'yml']) {
      const n = `${prefix}${stem}.command.${ext}`;
      // lstat only: whatever it is (a link, a folder), the build step refuses it by name; here it only has to be found.
      if (
        await lstat(join(dir, n)).then(
          () => true,
          () => false,
        )
      )
        found.push(n);
    }
  return found.sort();
}

/** The exports in a folder listing a sidecar could belong to (none: an orphan). */
export function exportsFor(sidecar: string, names: readonly string[]): string[] {
  return names.filter((n) => !isSidecarName(n) && sidecarBelongsTo(sidecar, n));
}
