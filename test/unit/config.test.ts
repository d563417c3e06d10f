import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/config.js';

const base = 'service: {serviceId: "12345678"}\n';
const parse = (yaml: string, env: Record<string, string> = {}) => parseConfig(yaml, '/etc/dmc/dmc.yaml', env);

describe('configuration', () => {
  it('applies every default once', async () => {
    const c = await parse(`${base}transport: {host: h, username: u, password: p}\n`);
    expect(c.transport).toMatchObject({ protocol: 'sftp', port: 2222, ftp: { mode: 'active', tls: false }, acceptNewHostKey: false, hostKeys: [] });
    expect(c.timeouts).toEqual({ connect: 20, idle: 60, transfer: 600, documentsTaken: 180, outcome: 300, poll: 5 });
    expect(c.retries).toEqual({ attempts: 4, minDelay: 1, maxDelay: 30 });
    expect(c.reports).toEqual({ dir: '/etc/dmc/reports', ackNaming: 'replace' });
    expect((await parse(`${base}transport: {protocol: ftp, host: h, username: u, password: p}\n`)).transport.port).toBe(21);
  });

  it('takes secrets from ${ENV} and files, and never prints them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dmc-cfg-'));
    writeFileSync(join(dir, 'pw'), 'from-file\n');
    const c = await parseConfig(`${base}transport: {host: h, username: "\${U}", passwordFile: pw, passphrase: "\${PP}"}\n`, join(dir, 'c.yaml'), {
      U: 'user1',
      PP: 'pp-secret',
    });
    expect(c.transport.username).toBe('user1');
    expect(c.transport.password?.reveal()).toBe('from-file');
    const shown = `${JSON.stringify(c)} ${inspect(c, { depth: 9 })} ${String(c.transport.password)}`;
    expect(shown).not.toContain('from-file');
    expect(shown).not.toContain('pp-secret');
    const e = await parse(`${base}transport: {host: h, username: u, password: "\${NOPE}"}\n`).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as Error).message).toMatch(/transport\.password refers to \$\{NOPE\}, which is not set.*export NOPE=/);
  });

  it('names the file, the line and the key of a mistake', async () => {
    const e = (await parse(`${base}transport:\n  host: h\n  username: u\n  pasword: p\n`).catch((x: unknown) => x)) as ConfigError;
    expect(e.message).toBe("/etc/dmc/dmc.yaml:5: unknown key 'transport.pasword' (did you mean 'password'?) (docs/config.md lists the keys)");
    const m = (await parse(`${base}transport: {username: u, password: p}\n`).catch((x: unknown) => x)) as ConfigError;
    expect(m.message).toMatch(/transport\.host is required/);
    const p = (await parse(`${base}transport: {host: h, username: u, password: p, protocol: scp}\n`).catch((x: unknown) => x)) as ConfigError;
    expect(p.key).toBe('transport.protocol');
  });

  it('checks host key fingerprints, credentials and port ranges', async () => {
    await expect(parse(`${base}transport: {host: h, username: u, password: p, hostKey: "MD5:aa:bb"}\n`)).rejects.toThrow(/not a SHA256 fingerprint/);
    await expect(parse(`${base}transport: {host: h, username: u}\n`)).rejects.toThrow(/needs password, passwordFile, privateKey or privateKeyFile/);
    await expect(parse(`${base}transport: {host: h, username: u, password: a, passwordFile: b}\n`)).rejects.toThrow(/not both/);
    await expect(parse(`${base}transport: {protocol: ftp, host: h, username: u, password: p, ftp: {activePortRange: "80-90"}}\n`)).rejects.toThrow(
      /1024-65535/,
    );
    const ok = await parse(
      `${base}transport: {protocol: ftp, host: h, username: u, password: p, ftp: {activePortRange: "50000-50010", activeAddress: 203.0.113.7}}\n`,
    );
    expect(ok.transport.ftp).toEqual({ mode: 'active', tls: false, activeAddress: '203.0.113.7', activePortRange: [50000, 50010] });
  });

  it('a missing file is CONFIG_NOT_FOUND with the path', async () => {
    await expect(loadConfig('/nonexistent/dmc.yaml')).rejects.toMatchObject({
      code: 'CONFIG_NOT_FOUND',
      message: expect.stringContaining('/nonexistent/dmc.yaml'),
    });
  });

  it('push: defaults on loopback, a secret path masked, and each mistake named', async () => {
    const c = await parse(`${base}push: {path: "/dmc/\${PUSH_SECRET}"}\n`, { PUSH_SECRET: 'k3y' });
    expect(c.push).toMatchObject({
      host: '127.0.0.1',
      port: 8480,
      formField: 'xml',
      maxBodyBytes: 1048576,
      headersTimeout: 5,
      requestTimeout: 15,
      trustProxy: false,
    });
    expect(c.push!.path.reveal()).toBe('/dmc/k3y');
    expect(c.push!.path.source).toBe('/dmc/***');
    expect(c.push!.journal).toBe('/etc/dmc/state/journal.db');
    expect((await parse(`${base}push: {listen: "[::1]:0"}\n`)).push).toMatchObject({ host: '::1', port: 0 });
    await expect(parse(`${base}push: {username: dmc}\n`)).rejects.toThrow(/push needs both username and password/);
    await expect(parse(`${base}push: {headersTimeout: 20, requestTimeout: 10}\n`)).rejects.toThrow(/push.requestTimeout must be at least push.headersTimeout/);
    await expect(parse(`${base}push: {path: "/a?b"}\n`)).rejects.toThrow(/push.path: a path, without \? or #/);
    await expect(parse(`${base}push: {listen: "8480"}\n`)).rejects.toThrow(/push.listen: host:port/);
    await expect(parse(`${base}push: {listen: "h:70000"}\n`)).rejects.toThrow(/push.listen: the port must be 1-65535/);
  });

  it('daemon.http and daemon.results: defaults and the token file beside the journal', async () => {
    const c = await parse(
      `${base}transport: {host: h, username: u, password: p}\ndaemon: {journal: /var/lib/dmc/j.db, http: {listen: "127.0.0.1:9000"}, dropFolders: [{path: d, command: c.yaml}]}\n`,
    );
    expect(c.daemon!.http).toEqual({ host: '127.0.0.1', port: 9000, readyPassSeconds: 300, console: true, tokenFile: '/var/lib/dmc/console-token' });
    expect(c.daemon!.results).toEqual({ enabled: true, name: '{name}.results.csv', finalAfterDays: 7 });
    await expect(
      parse(`${base}transport: {host: h, username: u, password: p}\ndaemon: {results: {name: "x.csv"}, dropFolders: [{path: d, command: c.yaml}]}\n`),
    ).rejects.toThrow(/the name must hold \{name\}/);
  });
});
