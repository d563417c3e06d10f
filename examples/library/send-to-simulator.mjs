// The whole cycle against the local simulator: start it, send a trigger with the .uploading
// handshake (the document first), follow its outcome, fetch and ack the report.
// Run: node examples/library/send-to-simulator.mjs
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readReport } from 'dmc-trigger';
import { parseConfig } from 'dmc-trigger/config';
import { Simulator } from 'dmc-trigger/simulator';
import { fetchReports, openAccount, sendTrigger, silentLogger, trackOutcome } from 'dmc-trigger/transport';

const dir = mkdtempSync(join(tmpdir(), 'dmc-example-'));
const sim = new Simulator({
  root: join(dir, 'sim'),
  accounts: [{ serviceId: '12345678', username: 'demo', password: 'demo-pw' }],
  sftpPort: 0,
  interval: 0.5,
  autoReports: false,
});
await sim.start();
try {
  // A real configuration comes from a file (loadConfig); secrets from the environment (${DMC_PASSWORD}).
  const config = await parseConfig(
    [
      'service: {serviceId: "12345678"}',
      `transport: {protocol: sftp, host: 127.0.0.1, port: ${sim.sftp.port}, username: demo, password: "\${DMC_PASSWORD}", hostKey: "${sim.fingerprint}"}`,
      'timeouts: {documentsTaken: 20, outcome: 20, poll: 0.5}',
      `reports: {dir: ${join(dir, 'reports')}}`,
    ].join('\n'),
    join(dir, 'dmc.yaml'),
    { DMC_PASSWORD: 'demo-pw' },
  );
  const { session, remoteRoot } = await openAccount(config, silentLogger);
  try {
    const sent = await sendTrigger(
      session,
      { trigger: 'samples/fax-pdf.csv', documents: ['samples/documents/TESTFAX.pdf'] },
      { remoteRoot, timeouts: config.timeouts, logger: silentLogger },
    );
    console.log(`uploaded in/${sent.remoteName}`);
    console.log(`outcome: ${await trackOutcome(session, remoteRoot, sent.remoteName, { timeouts: config.timeouts })}`);
    await sim.report();
    const reports = await fetchReports(session, {
      remoteRoot,
      serviceId: '12345678',
      dir: config.reports.dir,
      ackNaming: config.reports.ackNaming,
      logger: silentLogger,
    });
    for (const r of reports) console.log(`report ${r.name}: ${(await readReport(r.localPath)).records.length} record(s), ${r.ack}`);
  } finally {
    await session.close();
  }
} finally {
  await sim.stop();
  rmSync(dir, { recursive: true, force: true });
}
