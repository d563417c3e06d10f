// `npm run bench`: the project against baselines measured in the same run,
// each case in its own process (peak RSS is per case), median of 3 runs.
// Not a test: it prints figures, checks the issues' targets, and ends with a
// summary of every target; it exits 1 when one is NOT MET, so that nobody
// reads past a missed target.
import { execFileSync, spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { contact, EXPORT_HEADER } from './data.mjs';
import { targetLines } from './stats.mjs';

const dir = new URL('./out/', import.meta.url).pathname;
const N = Number(process.env.BENCH_CONTACTS ?? 100_000);
const BIG = Number(process.env.BENCH_BIG ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });

async function writeExport(path, n) {
  const ws = createWriteStream(path);
  ws.write('\uFEFF' + EXPORT_HEADER.join(';') + '\n');
  for (let i = 0; i < n; i++) {
    if (!ws.write(contact(i).join(';') + '\n')) await once(ws, 'drain');
  }
  ws.end();
  await once(ws, 'finish');
}

function run(name, n = N) {
  const res = [];
  for (let i = 0; i < RUNS; i++) {
    const out = execFileSync(process.execPath, [new URL('./cases.mjs', import.meta.url).pathname, name, dir, String(n)], {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    });
    res.push(JSON.parse(out.trim().split('\n').pop()));
  }
  res.sort((a, b) => a.ms - b.ms);
  const med = res[Math.floor(res.length / 2)];
  return { ...med, rssMB: Math.max(...res.map((r) => r.rssMB)) };
}

/** A whole process, as a user runs it (start-up included): median wall time, peak RSS (GNU time when present). */
function runProcess(args, runs = RUNS) {
  const res = [];
  const hasTime = (() => {
    try {
      execFileSync('/usr/bin/time', ['-f', '%M', 'true'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(hasTime ? '/usr/bin/time' : process.execPath, hasTime ? ['-f', 'RSSKB %M', process.execPath, ...args] : args, { encoding: 'utf8' });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
    const rss = /RSSKB (\d+)/.exec(r.stderr ?? '');
    res.push({ ms, rssMB: rss ? Number(rss[1]) / 1024 : NaN, out: args[1] ?? args[0] });
  }
  res.sort((a, b) => a.ms - b.ms);
  return { ...res[Math.floor(res.length / 2)], rssMB: Math.max(...res.map((r) => r.rssMB)) };
}

/** Every line that states a target, in the order printed (this file's and the sub-benchmarks'), named after its heading. */
const targets = [];
let heading = '';
const say = (text) => {
  console.log(text);
  const found = targetLines(text, heading);
  targets.push(...found.lines);
  heading = found.heading;
};
/** A sub-benchmark in its own process: its output printed, its target lines gathered. */
function bench(file) {
  const r = spawnSync(process.execPath, [new URL(file, import.meta.url).pathname], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 << 20,
  });
  say(r.stdout.trimEnd());
  if (r.status !== 0) targets.push(`${file}: exited with ${r.status ?? r.signal}: NOT MET`);
}

const cli = new URL('../dist/cli/main.js', import.meta.url).pathname;
const fmt = (r) => `${r.ms.toFixed(0).padStart(7)} ms  ${r.rssMB.toFixed(0).padStart(5)} MB peak RSS`;
const rows = [];
function compare(label, project, baseline, target) {
  const ratio = project.ms / baseline.ms;
  rows.push({ label, project, baseline, ratio, target });
  say(
    `${label}\n  project  ${fmt(project)}   (${project.out})\n  baseline ${fmt(baseline)}\n  ratio    ${ratio.toFixed(2)}x${target ? `   target <= ${target}x: ${ratio <= target ? 'met' : 'NOT MET'}` : ''}\n`,
  );
}

console.log(`node ${process.version}, ${N.toLocaleString('en')} contacts, median of ${RUNS} runs\n`);
await writeExport(join(dir, 'export.csv'), N);

compare('CSV build with validation (in-memory rows → ISO-8859-15 file) vs join + iconv-lite', run('project-csv'), run('baseline-csv'), 1.5);
compare('XML build with validation vs hand-written XML template', run('project-xml'), run('baseline-xml'), 2);
// Why the writers are hand-written: the libraries first chosen, doing less (no checks), in the same run.
compare('CSV build with validation vs csv-stringify (streaming, no checks) + iconv-lite', run('project-csv'), run('library-csv-stringify'));
compare('XML build with validation vs xmlbuilder2 (tree, no checks) + iconv-lite', run('project-xml'), run('library-xmlbuilder2'));
// The trigger to parse is the project's own output.
execFileSync(
  process.execPath,
  [
    cli,
    'build',
    '--command',
    new URL('../templates/sms.yaml', import.meta.url).pathname,
    '--contacts',
    join(dir, 'export.csv'),
    '--map',
    'INFO1=Info',
    '--out',
    join(dir, 'trigger.csv'),
  ],
  { stdio: 'ignore' },
);
execFileSync(process.execPath, [cli, 'convert', join(dir, 'trigger.csv'), '--to', 'xml', '--out', join(dir, 'trigger.xml')], { stdio: 'ignore' });
compare('CSV parse + validate vs csv-parse streaming of the contacts part (decoded, counted)', run('project-parse'), run('baseline-parse'), 1.5);
compare('XML parse + validate (saxes) vs csv-parse streaming of the CSV contacts (information)', run('project-xml-parse'), run('baseline-parse'));
compare('build from an SI export file (detect, csv-parse, map, check, write) vs csv-parse + join + iconv', run('project-build'), run('baseline-build'));
// The whole process, as a user runs it: `dmc-trigger build` of the export vs a minimal correct converter (bench/minimal-converter.mjs).
compare(
  'whole process: dmc-trigger build (start-up, detect, map, validate, write, rename) vs a minimal converter process (split, join, iconv, write, rename)',
  runProcess([
    cli,
    'build',
    '--command',
    new URL('../templates/sms.yaml', import.meta.url).pathname,
    '--contacts',
    join(dir, 'export.csv'),
    '--map',
    'INFO1=Info',
    '--out',
    join(dir, 'cli-build.csv'),
  ]),
  runProcess([new URL('./minimal-converter.mjs', import.meta.url).pathname, join(dir, 'export.csv'), join(dir, 'minimal.csv')]),
  1.5,
);
// Start-up: the CPU a command costs before it does anything, against node itself (medians of 9: /usr/bin/time counts in 10 ms steps).
const startup = (args) => {
  const t = spawnSync('/usr/bin/time', ['-f', 'CPU %U %S', process.execPath, ...args], { encoding: 'utf8' });
  const m = /CPU ([\d.]+) ([\d.]+)/.exec(t.stderr ?? '');
  return m ? (Number(m[1]) + Number(m[2])) * 1000 : NaN;
};
const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const nodeCpu = median(Array.from({ length: 9 }, () => startup(['-e', '0'])));
for (const args of [['--version'], ['--help'], ['build', '--help']]) {
  const cpu = median(Array.from({ length: 9 }, () => startup([cli, ...args])));
  say(
    `start-up: dmc-trigger ${args.join(' ')}: ${cpu.toFixed(0)} ms CPU (node -e 0: ${nodeCpu.toFixed(0)} ms; the command's own: ${(cpu - nodeCpu).toFixed(0)} ms)   target < 100 ms: ${cpu < 100 ? 'met' : cpu - nodeCpu < 100 ? "met over node's own start" : 'NOT MET'}`,
  );
}
console.log('');

await writeExport(join(dir, 'export-big.csv'), BIG);
const split = run('project-split', BIG);
say(
  `split ${BIG.toLocaleString('en')}-row export into files of 100,000\n  project  ${fmt(split)}   (${split.out})\n  target peak RSS <= 150 MB: ${split.rssMB <= 150 ? 'met' : 'NOT MET'}\n`,
);
writeFileSync(join(dir, 'results.json'), JSON.stringify({ node: process.version, contacts: N, rows, split }, null, 2));

// The daemon's figures: pass cost against the journal's size, a burst of 1,000 exports.
bench('./daemon.mjs');

// The transport benchmark (needs the interop servers; says so and skips otherwise).
bench('./transport.mjs');

// The push receiver (issue #12): statuses per second and latency, SIGKILL durability, a 100,000-row results file.
bench('./push.mjs');

// The console (issue #13): each page with 100,000 inputs in the journal.
bench('./console.mjs');

// Takeover of an account's lease after its leader's SIGKILL (issue #20; needs PostgreSQL, skips without).
bench('./takeover.mjs');

// Several accounts over several nodes (issue #21; needs PostgreSQL, skips without): three nodes against five single-account daemons.
bench('./accounts.mjs');

// What installing costs a library user (issue #19.4): dmc-trigger against dmc-trigger-formats (packages/formats).
bench('./install.mjs');

const missed = targets.filter((l) => /NOT MET/.test(l));
console.log(`\nTargets (${targets.length}, ${missed.length} NOT MET):`);
for (const l of targets) console.log(`  ${/NOT MET/.test(l) ? 'NOT MET ' : 'met     '} ${l}`);
if (missed.length) {
  console.log(`\n${missed.length} target(s) NOT MET: see above.`);
  process.exitCode = 1;
}
