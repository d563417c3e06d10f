import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;
const bin = join(root, 'dist/cli/main.js');
const tmp = mkdtempSync(join(tmpdir(), 'dmc-demo-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function start(args: string[]) {
  const p = spawn(process.execPath, [bin, ...args], { cwd: root });
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (c) => {
    stdout += c;
  });
  p.stderr.on('data', (c) => {
    stderr += c;
  });
  const done = new Promise<number | null>((resolve) => {
    const t = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.on('close', (code) => {
      clearTimeout(t);
      resolve(code);
    });
  });
  return { p, done, out: () => stdout, err: () => stderr };
}

describe('dmc-trigger demo and simulator', () => {
  for (const protocol of ['sftp', 'ftp']) {
    it(`demo over ${protocol}: the whole cycle, exit 0, under a minute`, async () => {
      const dir = join(tmp, `demo-${protocol}`);
      const r = start(['demo', '--dir', dir, '--protocol', protocol]);
      expect(await r.done, r.err()).toBe(0);
      expect(r.out()).toMatch(/uploaded document in\/TESTFAX\.pdf/);
      expect(r.out()).toMatch(/outcome of fax-pdf_.*: processed/);
      expect(r.out()).toMatch(/outcome of colis_.*: processed/);
      expect(r.out()).toMatch(/report CRA_12345678_\d{4}-\d{2}-\d{2}\.csv: downloaded, acked/);
      expect(r.out()).toMatch(/ack CRA_12345678_.*\.ack -> report .* deleted/);
      expect(r.out()).toMatch(/demo complete/);
      expect(readdirSync(join(dir, 'reports'))).toHaveLength(1);
    });
  }

  it('simulator: serves, writes a pinned client config (password not printed), stops on SIGTERM', async () => {
    const rootDir = join(tmp, 'sim');
    const r = start(['simulator', '--root', rootDir, '--sftp-port', '0', '--ftp-port', '0', '--smtp-port', '0', '--imap-port', '0', '--interval', '1']);
    const end = Date.now() + 20_000;
    while (!/Ctrl-C to stop/.test(r.out()) && Date.now() < end) await new Promise((x) => setTimeout(x, 50));
    expect(r.out()).toMatch(/host key SHA256:/);
    const cfg = join(rootDir, 'clients', 'dmc-sftp.yaml');
    expect(existsSync(cfg)).toBe(true);
    const password = readFileSync(join(rootDir, 'clients', 'dmc.password'), 'utf8').trim();
    expect(r.out()).not.toContain(password);
    const v = start(['send', 'samples/sms.csv', '--config', cfg, '--wait', '--timeout', '10']);
    expect(await v.done, v.err()).toBe(0);
    expect(r.out()).toMatch(/-> in\/processed\/, broadcast 1000/);
    r.p.kill('SIGTERM');
    expect(await r.done).toBe(0);
    expect(r.out()).toMatch(/simulator stopped/);
  });
});
