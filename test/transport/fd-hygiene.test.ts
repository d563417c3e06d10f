/**
 * Whoever opens a file closes it (issue #11): the simulator's SFTP server
 * closes the files a client left open when its connection is cut (they were
 * left to the garbage collector: "Closing file descriptor N on garbage
 * collection" in the fault matrix), and rejected builds leave no descriptor.
 */
import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, describe, expect, it } from 'vitest';
import { buildTriggerFiles } from '../../src/files/build.js';
import { convertTriggerFile } from '../../src/files/convert.js';
import { validateTriggerFile } from '../../src/files/read-trigger.js';
import { readCraFile } from '../../src/files/reports.js';
import { FindingList } from '../../src/formats/findings.js';
import { startSftpServer } from '../../src/simulator/sftp-server.js';

const dir = mkdtempSync(join(tmpdir(), 'dmc-fd-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const openFds = (): number => readdirSync('/proc/self/fd').length;
/** The files under `folder` this process holds open. */
const openUnder = (folder: string): string[] =>
  readdirSync('/proc/self/fd')
    .map((f) => {
      try {
        return readlinkSync(`/proc/self/fd/${f}`);
      } catch {
        return '';
      }
    })
    .filter((p) => p.startsWith(`${folder}/`));
const until = async (what: string, cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe.runIf(process.platform === 'linux')('file descriptors (issue #11)', () => {
  it('the simulator closes the files of a client cut in the middle of an upload', async () => {
    const root = join(dir, 'home');
    mkdirSync(root, { recursive: true });
    const server = await startSftpServer({ accounts: [{ username: 'u', password: 'p', root }] });
    try {
      for (let k = 0; k < 3; k++) {
        const client = new ssh2.Client();
        await new Promise<void>((res, rej) => {
          client
            .once('ready', () => res())
            .once('error', rej)
            .connect({ host: '127.0.0.1', port: server.port, username: 'u', password: 'p', hostVerifier: () => true });
        });
        const sftp = await new Promise<ssh2.SFTPWrapper>((res, rej) => client.sftp((e, s) => (e ? rej(e) : res(s))));
        // Opened for writing, one block written, then the connection is cut: no CLOSE ever comes.
        const handle = await new Promise<Buffer>((res, rej) => sftp.open(`/f${k}.uploading`, 'w', (e, h) => (e ? rej(e) : res(h))));
        await new Promise<void>((res, rej) => sftp.write(handle, Buffer.from('abc'), 0, 3, 0, (e) => (e ? rej(e) : res())));
        expect(openUnder(root), 'the upload is open while its client is connected').toContain(join(root, `f${k}.uploading`));
        (client as unknown as { _sock: { destroy(): void } })._sock.destroy();
      }
      await until('the server closed the files the cut clients left open', () => openUnder(root).length === 0);
    } finally {
      server.dropConnections();
      await server.close();
    }
  });

  it('rejected builds, converts and validations leave no descriptor open', async () => {
    const cmd = {
      serviceId: '12345678',
      spaceId: '1',
      broadcastName: 'x',
      scenarioId: '1',
      callPlanningId: '1',
      messages: [{ customizableId: '1', multimediaType: 'TXT', text: 'a' }],
    };
    writeFileSync(join(dir, 'no-address.csv'), `Nom;Colis\n${'A;1\n'.repeat(200_000)}`);
    writeFileSync(join(dir, 'bad-service.csv'), `Nom;Mobile\n${'A;0612345678\n'.repeat(120_000)}`);
    writeFileSync(join(dir, 'empty.csv'), '');
    writeFileSync(join(dir, 'binary.xlsx'), Buffer.concat([Buffer.from('PK\x03\x04\0\0'), Buffer.alloc(2_000_000, 7)]));
    writeFileSync(join(dir, 'broken.csv'), `#COMMAND\nserviceId:1\n${'x'.repeat(400_000)}`);
    const baseline = openFds();
    const leaks: string[] = [];
    for (let i = 0; i < 10; i++) {
      expect((await buildTriggerFiles(cmd, join(dir, 'no-address.csv'), { out: join(dir, 'o.csv') })).ok).toBe(false);
      leaks.push(...openUnder(dir));
      expect((await buildTriggerFiles({ ...cmd, serviceId: 'zz' }, join(dir, 'bad-service.csv'), { out: join(dir, 'o.csv') })).ok).toBe(false);
      leaks.push(...openUnder(dir));
      expect((await buildTriggerFiles(cmd, join(dir, 'empty.csv'), { out: join(dir, 'o.csv') })).ok).toBe(false);
      leaks.push(...openUnder(dir));
      // Refused after the first bytes only (an unknown encoding, a binary file): the rest of the file was never read.
      expect((await buildTriggerFiles(cmd, join(dir, 'bad-service.csv'), { out: join(dir, 'o.csv'), export: { encoding: 'klingon' } })).ok).toBe(false);
      leaks.push(...openUnder(dir));
      expect((await buildTriggerFiles(cmd, join(dir, 'binary.xlsx'), { out: join(dir, 'o.csv') })).ok).toBe(false);
      leaks.push(...openUnder(dir));
      expect((await convertTriggerFile(join(dir, 'broken.csv'), { to: 'xml', out: join(dir, 'o.xml') })).ok).toBe(false);
      leaks.push(...openUnder(dir));
      expect((await validateTriggerFile(join(dir, 'broken.csv'))).valid).toBe(false);
      leaks.push(...openUnder(dir));
      // Not a report (no callResult column): the reader stops at the header.
      const findings = new FindingList();
      for await (const _ of readCraFile(join(dir, 'bad-service.csv'), findings)) {
        /* none */
      }
      expect(findings.hasErrors).toBe(true);
      leaks.push(...openUnder(dir));
    }
    // Checked right after each call: a stream left to the garbage collector is a leak even if it is collected later.
    expect(leaks).toEqual([]);
    expect(openFds()).toBeLessThanOrEqual(baseline);
    expect(readdirSync(dir).filter((f) => f.startsWith('o.'))).toEqual([]);
  });
});
