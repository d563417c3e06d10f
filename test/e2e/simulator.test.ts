import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type ResolvedConfig } from '../../src/config/config.js';
import { buildTriggerFiles } from '../../src/files/build.js';
import { readCra, summarizeCra } from '../../src/formats/cra.js';
import { FindingList } from '../../src/formats/findings.js';
import { Simulator, type JournalEntry } from '../../src/simulator/simulator.js';
import { openAccount, createTransport } from '../../src/transport/connect.js';
import { sendTrigger, trackOutcome } from '../../src/transport/handshake.js';
import { silentLogger } from '../../src/transport/logger.js';
import { fetchReports } from '../../src/transport/reports.js';

const repo = new URL('../../', import.meta.url).pathname;
const until = async (what: string, cond: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('the platform simulator, driven by the real client code', () => {
  let root: string;
  let sim: Simulator;
  const configs: Record<string, ResolvedConfig> = {};
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'dmc-sim-'));
    sim = new Simulator({
      root,
      accounts: [{ serviceId: '12345678', username: 'dmc', password: 'pw' }],
      sftpPort: 0,
      ftpPort: 0,
      interval: 0.2,
      seed: 'test',
      autoReports: false,
    });
    await sim.start();
    for (const protocol of ['sftp', 'ftp'] as const) {
      const port = protocol === 'sftp' ? sim.sftp!.port : sim.ftp!.port;
      configs[protocol] = await parseConfig(
        `service: {serviceId: "12345678"}\ntransport: {protocol: ${protocol}, host: 127.0.0.1, port: ${port}, username: dmc, password: pw${protocol === 'sftp' ? `, hostKey: "${sim.fingerprint}"` : ''}}\ntimeouts: {connect: 5, documentsTaken: 10, outcome: 10, poll: 0.1}\nretries: {attempts: 1, minDelay: 0.05, maxDelay: 0.1}\n`,
        join(root, `${protocol}.yaml`),
      );
    }
  });
  afterAll(async () => {
    await sim.stop();
    rmSync(root, { recursive: true, force: true });
  });

  const platform = (type: string): (JournalEntry & { name?: string })[] =>
    sim.journal.filter((e) => e.source === 'platform' && (e as { type: string }).type === type) as never;

  for (const protocol of ['sftp', 'ftp'] as const) {
    it(`${protocol}: document then trigger, processed once, broadcast created; the journal shows the exact sequence`, async () => {
      const { session, remoteRoot } = await openAccount(configs[protocol]!, silentLogger);
      try {
        expect(remoteRoot).toBe('DMC_12345678');
        const start = sim.journal.length;
        const r = await sendTrigger(
          session,
          { trigger: join(repo, 'samples/fax-pdf.csv'), documents: [join(repo, 'samples/documents/TESTFAX.pdf')] },
          { remoteRoot, timeouts: configs[protocol]!.timeouts, logger: silentLogger },
        );
        expect(await trackOutcome(session, remoteRoot, r.remoteName, { timeouts: configs[protocol]!.timeouts })).toBe('processed');
        // The file reaches processed/ before the broadcast is created and journaled: wait for the entry.
        await until('the processed entry', () =>
          sim.journal.slice(start).some((e) => e.source === 'platform' && e.type === 'processed' && e.name === r.remoteName),
        );
        const seen = sim.journal.slice(start);
        const writes = seen.filter((e) => e.source === 'server' && e.op === 'open-write').map((e) => (e as { path: string }).path);
        expect(writes.every((w) => w.endsWith('.uploading'))).toBe(true);
        const idx = (pred: (e: JournalEntry) => boolean): number => seen.findIndex(pred);
        const docTaken = idx((e) => e.source === 'platform' && e.type === 'document-taken' && e.name === 'TESTFAX.pdf');
        const trigWrite = idx((e) => e.source === 'server' && e.op === 'open-write' && e.path.includes(r.remoteName));
        expect(docTaken).toBeGreaterThanOrEqual(0);
        expect(trigWrite).toBeGreaterThan(docTaken);
        const processed = seen.filter((e) => e.source === 'platform' && e.type === 'processed' && e.name === r.remoteName);
        expect(processed).toHaveLength(1);
        expect(processed[0]).toMatchObject({ contacts: 2 });
      } finally {
        await session.close();
      }
    });
  }

  it('writes the report in the documented format, deletes it when its ack arrives (either naming)', async () => {
    await sim.report();
    const report = platform('report').at(-1) as unknown as { name: string; results: number };
    expect(report.name).toMatch(/^CRA_12345678_\d{4}-\d{2}-\d{2}\.csv$/);
    expect(report.results).toBe(4);
    const out = join(sim.homeOf('dmc'), 'DMC_12345678', 'out');
    const bytes = readFileSync(join(out, report.name));
    const text = iconv.decode(bytes, 'iso-8859-15');
    expect(text.split('\n')[0]).toBe('broadcastId;contactId;externalReference;name;forename;callResult;callAdress;callDate;callAttempts');
    expect(text).toMatch(/;\+33123456790;\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2};[123]\n/);
    const summary = await summarizeCra(readCra([bytes], new FindingList()));
    expect(summary.unknownLabels).toEqual([]);
    expect(summary.broadcasts).toHaveLength(2);

    const { session, remoteRoot } = await openAccount(configs['sftp']!, silentLogger);
    try {
      const got = await fetchReports(session, {
        remoteRoot,
        serviceId: '12345678',
        dir: join(root, 'local-reports'),
        ackNaming: 'append',
        logger: silentLogger,
      });
      expect(got.map((g) => [g.fetched, g.ack])).toEqual([['downloaded', 'acked']]);
    } finally {
      await session.close();
    }
    await until('the ack', () => platform('ack').length > 0);
    expect(platform('ack')[0]).toMatchObject({ report: report.name, deleted: true });
    expect(readdirSync(out).filter((f) => f.startsWith('CRA_'))).toEqual([]);
    expect(readdirSync(join(out, 'ack'))).toEqual([]);
  });

  it('is deterministic: the same seed, broadcast and contact give the same result', async () => {
    const { contactResult, mediaOf } = await import('../../src/simulator/results.js');
    const args = [['PHONENUMBER1'], ['0612345678'], mediaOf({ serviceId: '1', spaceId: '1', broadcastName: 'x' })] as const;
    const ctx = { seed: 's', broadcastId: 7, index: 3, contactId: 1, start: new Date(0) };
    expect(contactResult(...args, ctx)).toEqual(contactResult(...args, ctx));
  });

  describe('bad uploads end in in/failed/, as on the platform', () => {
    const sendRaw = async (name: string, content: Buffer | string, direct = false): Promise<string> => {
      const { session, remoteRoot } = await openAccount(configs['sftp']!, silentLogger);
      try {
        const local = join(root, name);
        writeFileSync(local, content);
        if (direct) {
          // Without .uploading: written straight under its final name.
          const t = createTransport(configs['sftp']!, silentLogger);
          await t.connect();
          await t.upload(Readable.from([Buffer.from(content)]), `${remoteRoot}/in/${name}`);
          await t.close();
          return name;
        }
        return (await sendTrigger(session, { trigger: local, remoteName: name }, { remoteRoot, timeouts: configs['sftp']!.timeouts, logger: silentLogger }))
          .remoteName;
      } finally {
        await session.close();
      }
    };
    const failedWith = async (name: string): Promise<string[]> => {
      await until(`${name} to fail`, () => platform('failed').some((e) => e.name === name) || platform('processed').some((e) => e.name === name));
      const f = platform('failed').find((e) => e.name === name) as unknown as { errors: string[] } | undefined;
      expect(f, `${name} should have failed`).toBeDefined();
      return f!.errors;
    };
    const sms = readFileSync(join(repo, 'samples/sms.csv'), 'latin1');

    it('100,001 contacts', async () => {
      const exp = join(root, 'big-export.csv');
      writeFileSync(exp, ['Nom;Mobile', ...Array.from({ length: 100_001 }, (_, i) => `N${i};06${String(i).padStart(8, '0')}`)].join('\n') + '\n');
      const r = await buildTriggerFiles(
        { serviceId: '12345678', spaceId: '1', broadcastName: 'big', scenarioId: '1', callPlanningId: '1', messages: [{ multimediaType: 'TXT', text: 'x' }] },
        exp,
        { out: join(root, 'big.csv'), maxContacts: 200_000 },
      );
      expect(r.ok).toBe(true);
      await sendRaw('big-100001.csv', readFileSync(join(root, 'big.csv')));
      expect((await failedWith('big-100001.csv')).join('\n')).toMatch(/E_TOO_MANY_CONTACTS/);
    });

    it('a trigger naming a document that was never sent', async () => {
      const fax = readFileSync(join(repo, 'samples/fax-pdf.csv'), 'latin1').replace('TESTFAX.pdf', 'NEVERSENT.pdf');
      await sendRaw('missing-doc.csv', Buffer.from(fax, 'latin1'));
      expect((await failedWith('missing-doc.csv')).join('\n')).toMatch(/E_DOCUMENT_MISSING.*NEVERSENT\.pdf/);
    });

    it('an XML file that is not well-formed', async () => {
      await sendRaw('broken.xml', '<?xml version="1.0" encoding="ISO-8859-15"?>\n<dmc><auth><serviceId>12345678</serviceId></auth>\n');
      expect((await failedWith('broken.xml')).join('\n')).toMatch(/E_XML_MALFORMED/);
    });

    it('a trigger for another service', async () => {
      await sendRaw('other-service.csv', Buffer.from(sms.replace('serviceId:12345678', 'serviceId:87654321'), 'latin1'));
      expect((await failedWith('other-service.csv')).join('\n')).toMatch(/not this account's service/);
    });

    it('a file dropped without .uploading, taken while incomplete', async () => {
      await sendRaw('partial.csv', Buffer.from(sms.slice(0, sms.indexOf('#END')), 'latin1'), true);
      expect((await failedWith('partial.csv')).join('\n')).toMatch(/E_NO_END_MARKER/);
    });
  });
});
