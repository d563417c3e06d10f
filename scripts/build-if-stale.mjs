// `npm start`: builds dist/ only when a source changed since the last build (tsc took 14-20 s at every start).
// Stale when any file under src/, tsconfig*.json or package.json is newer than dist/.build-stamp, or dist/ is missing.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const stamp = join(root, 'dist', '.build-stamp');

function newest(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let m = st.mtimeMs;
  for (const n of readdirSync(path)) m = Math.max(m, newest(join(path, n)));
  return m;
}

const sources = Math.max(newest(join(root, 'src')), ...['tsconfig.json', 'tsconfig.build.json', 'package.json'].map((f) => newest(join(root, f))));
const built = existsSync(stamp) && existsSync(join(root, 'dist', 'cli', 'main.js')) ? statSync(stamp).mtimeMs : 0;
if (built >= sources) {
  console.log('dist/ is up to date with src/: not rebuilt');
} else {
  console.log('building dist/ (sources changed since the last build)...');
  const r = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
}
