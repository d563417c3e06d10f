// One results file for a 100,000-row export (bench/push.mjs runs it in its own process, for its peak RSS):
// `prepare` writes the export and a journal holding a status for each of its contacts; then, in a fresh
// process, the results are read from the journal and joined to the export, as the daemon does.
// `copy`: the baseline, reading and writing the export as it is.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Journal } from '../dist/store/journal.js';
import { StatusStore } from '../dist/store/statuses.js';
import { writeResultsFile } from '../dist/results/results-file.js';

const [root, mode] = process.argv.slice(2);
const N = 100_000;
const exportPath = join(root, 'export.csv');
const phone = (i) => String(i).padStart(8, '0');
if (mode === 'prepare') {
  const lines = ['Nom;Prénom;Mobile;Référence'];
  for (let i = 0; i < N; i++) lines.push(`Nom${i};Zoé;06 ${phone(i).replace(/(\d\d)(?=\d)/g, '$1 ')};REF-${i}`);
  writeFileSync(exportPath, lines.join('\n') + '\n');
  const j = await Journal.open(join(root, 'results.db'), 'receiver');
  const put = j.sql.db.prepare(
    "INSERT INTO contact_results VALUES ('1000', ?, 'sms', ?, ?, ?, ?, ?, NULL, '2026-11-28 10:00:00', '2026-11-28 10:00:00|06|0000', 'push', '', ?)",
  );
  j.sql.db.transaction(() => {
    for (let i = 0; i < N; i++)
      put.run(
        String(i),
        `+336${phone(i)}`,
        `REF-${i}`,
        i % 10 ? 'RECEIVED' : 'ERROR',
        i % 10 ? 'delivered' : 'failed',
        i % 10 ? null : 'CRA_SMS_BADNUMBER',
        `336${phone(i)}`,
      );
  })();
  await j.close();
  process.exit(0);
}
const t0 = performance.now();
if (mode === 'copy') writeFileSync(join(root, 'copy.csv'), readFileSync(exportPath));
else {
  const j = await Journal.open(join(root, 'results.db'), 'receiver');
  await writeResultsFile({
    exportPath,
    outPath: join(root, 'export.csv.results.csv'),
    summaryPath: join(root, 'export.csv.summary.json'),
    map: { EXTERNALREFERENCE: 'Référence' },
    lookup: await new StatusStore(j).lookup(['1000']),
    input: { id: 1, name: 'export.csv', folder: root },
    broadcasts: ['1000'],
    expired: false,
  });
  await j.close();
}
const ms = performance.now() - t0;
console.log(JSON.stringify({ rows: N, ms, rssMB: process.resourceUsage().maxRSS / 1024 }));
