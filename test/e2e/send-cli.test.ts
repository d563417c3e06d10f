import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/servers.js';

const root = new URL('../../', import.meta.url).pathname;
const bin = join(root, 'dist/cli/main.js');

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c) => {
      stdout += c;
    });
    p.stderr.on('data', (c) => {
      stderr += c;
    });
    const timer = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

for (const protocol of ['sftp', 'ftp'] as const) {
  describe(`dmc-trigger send and reports over ${protocol}`, () => {
    let srv: TestServer;
    let cfg: string;
    beforeAll(async () => {
      srv = await startTestServer(protocol);
      cfg = join(srv.root, '..', 'config.yaml');
      const t = srv.config.transport;
      writeFileSync(
        cfg,
        [
          'service: {serviceId: "12345678"}',
          `transport: {protocol: ${protocol}, host: 127.0.0.1, port: ${t.port}, username: dmc, passwordFile: pw.txt${protocol === 'sftp' ? `, hostKey: "${srv.sftp!.fingerprint}"` : ''}}`,
          'timeouts: {connect: 5, documentsTaken: 5, outcome: 10, poll: 0.1}',
          'retries: {attempts: 1, minDelay: 0.1, maxDelay: 0.2}',
          'reports: {dir: reports}',
        ].join('\n'),
      );
      writeFileSync(join(srv.root, '..', 'pw.txt'), 'secret-pw\n');
    });
    afterAll(async () => {
      await srv.close();
    });

    it('sends a sample with its document, waits for the outcome, and never prints the password', async () => {
      const mover = setInterval(() => {
        for (const f of readdirSync(join(srv.root, 'in'))) {
          if (f.endsWith('.pdf')) {
            mkdirSync(join(srv.root, '..', 'store'), { recursive: true });
            renameSync(join(srv.root, 'in', f), join(srv.root, '..', 'store', f));
          }
          if (f.endsWith('.csv')) renameSync(join(srv.root, 'in', f), join(srv.root, 'in', 'processed', f));
        }
      }, 50);
      const r = await run(['send', 'samples/fax-pdf.csv', '--document', 'samples/documents/TESTFAX.pdf', '--config', cfg, '--wait', '--log-level', 'info']);
      clearInterval(mover);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/uploading document TESTFAX\.pdf/);
      expect(r.stdout).toMatch(/documents taken by the platform/);
      expect(r.stdout).toMatch(/sent samples\/fax-pdf\.csv as in\/fax-pdf_\d{8}T\d{6}_[0-9a-f]{8}\.csv/);
      expect(r.stdout).toMatch(/outcome: processed/);
      expect(r.stdout + r.stderr).not.toContain('secret-pw');
      const sent = readdirSync(join(srv.root, 'in', 'processed'));
      expect(sent).toHaveLength(1);
      expect(readFileSync(join(srv.root, 'in', 'processed', sent[0]!)).equals(readFileSync(join(root, 'samples/fax-pdf.csv')))).toBe(true);
    });

    it('never uploads an invalid trigger (exit 1), nor one for another service', async () => {
      const before = readdirSync(join(srv.root, 'in')).length;
      const r = await run(['send', 'test/fixtures/invalid/priority-3.csv', '--config', cfg]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/E_ENUM/);
      const other = join(srv.root, '..', 'other.csv');
      writeFileSync(other, readFileSync(join(root, 'samples/sms.csv'), 'latin1').replace('serviceId:12345678', 'serviceId:999'), 'latin1');
      const r2 = await run(['send', other, '--config', cfg]);
      expect(r2.code).toBe(1);
      expect(r2.stderr).toMatch(/not the configured service 12345678/);
      expect(readdirSync(join(srv.root, 'in')).length).toBe(before);
    });

    it('a wrong password is a transport error (exit 3) with one clear line', async () => {
      writeFileSync(join(srv.root, '..', 'pw.txt'), 'nope');
      const r = await run(['send', 'samples/sms.csv', '--config', cfg]);
      writeFileSync(join(srv.root, '..', 'pw.txt'), 'secret-pw');
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/transport error \(AUTH\): login refused/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });

    it('reports fetch downloads and acks; reports show summarizes', async () => {
      writeFileSync(
        join(srv.root, 'out', 'CRA_12345678_2027-01-15.csv'),
        readFileSync('/dev/null').toString() +
          'broadcastId;contactId;externalReference;name;forename;callResult;callAdress;callDate;callAttempts\n1552;1;R1;Dupont;Pierre;SMS reçu;+33612345678;2027/01/15 10:00:00;1\n1552;2;R2;Durand;Paul;Numéro erroné;+33698765432;2027/01/15 10:01:00;1\n',
        'latin1',
      );
      const r = await run(['reports', 'fetch', '--config', cfg]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/CRA_12345678_2027-01-15\.csv: downloaded \(.*\) to .*; acked/);
      const local = join(srv.root, '..', 'reports', 'CRA_12345678_2027-01-15.csv');
      const show = await run(['reports', 'show', local]);
      expect(show.code).toBe(0);
      expect(show.stdout).toMatch(/broadcast 1552: 2 contact\(s\), success 50\.0 %/);
      expect(show.stdout).toMatch(/1 {2}SMS reçu {2}\(CRA_SMS_RECEIVED\)/);
      const json = JSON.parse((await run(['reports', 'show', local, '--json'])).stdout) as { broadcasts: { results: { label: string; codes: string[] }[] }[] };
      expect(json.broadcasts[0]!.results.find((x) => x.label === 'Numéro erroné')!.codes).toEqual([
        'CRA_SMS_BADNUMBER',
        'CRA_MMS_BADNUMBER',
        'CRA_VOCAL_BADNUMBER',
      ]);
    });
  });
}
