// Read a daily report (CRA): the records, and a summary per broadcast.
// Run: node examples/library/read-report.mjs [CRA file]
import { readReport } from 'dmc-trigger';

const { records, summary, findings } = await readReport(process.argv[2] ?? 'samples/reports/CRA_12345678_2027-01-16.csv');
for (const b of summary.broadcasts) {
  console.log(`broadcast ${b.broadcastId}: ${b.contacts} contact(s), ${(b.successRate * 100).toFixed(0)} % reached`);
  for (const r of b.results) console.log(`  ${r.count} × ${r.label} (${r.codes.join(' or ') || 'unknown label'})`);
}
console.log(`${records.length} record(s); ${findings.length} problem(s) in the file`);
