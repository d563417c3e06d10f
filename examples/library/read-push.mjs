// Read a CRA push (guide §2.9) as the platform posts it: each contact's latest status and what it means.
// Run: node examples/library/read-push.mjs [status_report XML file]
import { readFileSync } from 'node:fs';
import { finalOf, latestOf, parsePushReport } from 'dmc-trigger/formats';

const report = parsePushReport(readFileSync(process.argv[2] ?? 'samples/push/status-report-notif.xml', 'utf8'));
console.log(`service ${report.username}: ${report.elements.length} contact(s)`);
for (const e of report.elements) {
  const last = latestOf(e.history);
  const why = last.code ? ` (code ${last.code}: ${last.info})` : '';
  console.log(`${e.medium} ${e.to} in broadcast ${e.broadcastId}: ${last.type} at ${last.date}, ${finalOf(e.medium, last.type)}${why}`);
}
