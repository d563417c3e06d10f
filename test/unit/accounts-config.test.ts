import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseAccounts, parseConfig } from '../../src/config/config.js';

const dir = mkdtempSync(join(tmpdir(), 'dmc-accounts-'));
const file = join(dir, 'dmc.yaml');
const env = { PW_A: 'a-secret', PW_B: 'b-secret' };

/** Two accounts, shared settings once; `extra` lines appended to the second account. */
const twoAccounts = (top: string[] = [], extraB: string[] = []): string =>
  [
    'timeouts: {connect: 7}',
    ...(top.some((l) => l.startsWith('daemon:')) ? [] : ['daemon: {rate: 4, stableSeconds: 2}']),
    ...top,
    'accounts:',
    '  - service: {serviceId: "111"}',
    '    transport: {host: dmc.example, username: u111, password: "${PW_A}"}',
    '    daemon:',
    '      dropFolders: [{path: in/a, command: a.yaml}]',
    '  - service: {serviceId: "222"}',
    '    transport: {host: dmc.example, username: u222, password: "${PW_B}"}',
    '    timeouts: {connect: 9}',
    '    daemon:',
    '      rate: 2',
    '      dropFolders: [{path: in/b, command: b.yaml}]',
    ...extraB,
  ].join('\n');

describe('several accounts in one configuration (issue #21)', () => {
  it('shared settings once, overridden per account; the journal, reports and mail state kept apart by default', async () => {
    const set = await parseAccounts(twoAccounts(['mail: {from: ops@client.fr, smtp: {host: smtp.client.fr}}']), file, env);
    expect(set.multi).toBe(true);
    const [a, b] = set.accounts.map((e) => e.config!);
    expect(a!.service.serviceId).toBe('111');
    expect(a!.timeouts.connect).toBe(7);
    expect(b!.timeouts.connect).toBe(9);
    expect(b!.timeouts.idle).toBe(60);
    expect(a!.daemon!.rate).toBe(4);
    expect(b!.daemon!.rate).toBe(2);
    expect(b!.daemon!.stableSeconds).toBe(2);
    expect(a!.daemon!.journal).toBe(join(dir, 'state/111/journal.db'));
    expect(b!.daemon!.journal).toBe(join(dir, 'state/222/journal.db'));
    expect(a!.reports.dir).toBe(join(dir, 'reports/111'));
    expect(b!.mail!.stateDir).toBe(join(dir, 'mail-state/222'));
    expect(b!.transport.password!.reveal()).toBe('b-secret');
    const labelled = await parseAccounts(twoAccounts([], ['    labels: [paris, retail]']), file, env);
    expect(labelled.accounts.map((e) => e.labels)).toEqual([[], ['paris', 'retail']]);
  });

  it("daemon.http at the top is the process's one server; an account's own stays its own", async () => {
    const set = await parseAccounts(twoAccounts(['daemon: {rate: 4, http: {listen: "127.0.0.1:8490"}}']), file, env);
    expect(set.http).toMatchObject({ host: '127.0.0.1', port: 8490, console: true, tokenFile: join(dir, 'state', 'console-token') });
    expect(set.accounts.map((e) => e.config!.daemon!.http)).toEqual([undefined, undefined]);
    const own = await parseAccounts(
      twoAccounts(['daemon: {rate: 4, http: {listen: "127.0.0.1:8490"}}']).replace('      rate: 2', '      rate: 2\n      http: {listen: "127.0.0.1:8491"}'),
      file,
      env,
    );
    expect(own.accounts.map((e) => e.config!.daemon!.http?.port)).toEqual([undefined, 8491]);
    await expect(
      parseAccounts(
        twoAccounts(['daemon: {rate: 4, http: {listen: "127.0.0.1:8490"}}']).replace('      rate: 2', '      rate: 2\n      http: {listen: "127.0.0.1:8490"}'),
        file,
        env,
      ),
    ).rejects.toThrow(/accounts\[1\]'s daemon\.http\.listen is the top's \(127\.0\.0\.1:8490\)/);
  });

  it("a push receiver without a daemon section records into each account's own journal; one push.journal for all is refused", async () => {
    const text = [
      'push: {listen: "127.0.0.1:0"}',
      'accounts:',
      '  - {service: {serviceId: "111"}, transport: {host: h, username: a, password: pa}}',
      '  - {service: {serviceId: "222"}, transport: {host: h, username: b, password: pb}}',
    ].join('\n');
    const set = await parseAccounts(text, file, env);
    expect(set.accounts.map((e) => e.config!.push!.journal)).toEqual([join(dir, 'state/111/journal.db'), join(dir, 'state/222/journal.db')]);
    await expect(parseAccounts(text.replace('push: {listen: "127.0.0.1:0"}', 'push: {listen: "127.0.0.1:0", journal: j.db}'), file, env)).rejects.toThrow(
      /share the push journal .*j\.db.*: leave push\.journal out/,
    );
  });

  it('on PostgreSQL each account has its own schema unless one is named', async () => {
    const set = await parseAccounts(twoAccounts(['daemon: {journal: "postgres://dmc@127.0.0.1/dmc"}']), file, env);
    expect(set.accounts.map((e) => e.config!.daemon!.store!.schema)).toEqual(['dmc_111', 'dmc_222']);
    await expect(parseAccounts(twoAccounts(['daemon: {journal: "postgres://dmc@127.0.0.1/dmc", store: {schema: dmc}}']), file, env)).rejects.toThrow(
      /accounts\[1\] \(service 222\) and accounts\[0\] \(service 111\) share the journal .*: give each account its own daemon.journal/,
    );
  });

  it('a command picks its account by --account (DMC_ACCOUNT); with several and none named it asks for one', async () => {
    const text = twoAccounts();
    expect((await parseConfig(text, file, env, true, '222')).service.serviceId).toBe('222');
    expect((await parseConfig(text, file, { ...env, DMC_ACCOUNT: '111' })).service.serviceId).toBe('111');
    await expect(parseConfig(text, file, env)).rejects.toThrow(/has 2 accounts \(111, 222\): name the one to act for with --account <serviceId>/);
    await expect(parseConfig(text, file, env, true, '333')).rejects.toThrow(/no account with service id 333 \(--account\): the accounts are 111, 222/);
    // A single-account file refuses another service's id: a command never acts for an account it was not meant for.
    const single = 'service: {serviceId: "111"}\ntransport: {host: h, username: u, password: p}\n';
    expect((await parseConfig(single, file, {}, true, '111')).service.serviceId).toBe('111');
    await expect(parseConfig(single, file, {}, true, '222')).rejects.toThrow(/is for service 111, not 222/);
  });

  it("an error in one account's section names the account and its line; the other account still resolves", async () => {
    const set = await parseAccounts(twoAccounts([], ['    reports: {ackNaming: sometimes}']), file, env);
    expect(set.accounts[0]!.config).toBeDefined();
    const e = set.accounts[1]!.error!;
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toMatch(/dmc\.yaml:14: accounts\[1\] \(service 222\): reports\.ackNaming/);
    // A secret missing for one account only.
    const partial = await parseAccounts(twoAccounts(), file, { PW_A: 'x' });
    expect(partial.accounts[0]!.config).toBeDefined();
    expect(partial.accounts[1]!.error!.message).toMatch(/accounts\[1\] \(service 222\): transport\.password refers to \$\{PW_B\}/);
  });

  it('refuses what two accounts would share: a service id, a drop folder, a remote folder, a journal, a listening port', async () => {
    const cases: [string, RegExp][] = [
      [twoAccounts().replace('serviceId: "222"', 'serviceId: "111"'), /accounts\[1\] \(service 111\) has the same service id as accounts\[0\]/],
      [twoAccounts().replace('path: in/b', 'path: in/a'), /drop folder .*in\/a and accounts\[0\] \(service 111\)'s .*in\/a overlap/],
      [twoAccounts().replace('path: in/b', 'path: in/a/sent/x'), /overlap/],
      [twoAccounts().replace('username: u222', 'username: u111'), /share the remote folder \(sftp:\/\/u111@dmc\.example:2222\/\)/],
      [twoAccounts(['daemon: {journal: state/j.db}']), /share the journal/],
      [
        twoAccounts()
          .replace('    daemon:\n      dropFolders: [{path: in/a', '    daemon:\n      http: {listen: "127.0.0.1:8481"}\n      dropFolders: [{path: in/a')
          .replace('      rate: 2', '      rate: 2\n      http: {listen: "127.0.0.1:8481"}'),
        /share the listening address \(127\.0\.0\.1:8481\)/,
      ],
      [twoAccounts(['service: {serviceId: "1"}']), /service is stated in each account/],
      [twoAccounts(['push: {}'], ['    push: {}']), /push is stated once, at the top/],
      ['accounts: []\n', /accounts: expected a list of mappings/],
      [twoAccounts([], ['    labels: [paris, "a b"]']), /labels: a list of names/],
    ];
    for (const [text, re] of cases) await expect(parseAccounts(text, file, env), re.source).rejects.toThrow(re);
  });
});

describe("config.md's accounts example", () => {
  it('parses as written: two accounts, each its schema, the overrides where stated', async () => {
    const { readFileSync, writeFileSync } = await import('node:fs');
    const doc = readFileSync(new URL('../../docs/config.md', import.meta.url), 'utf8');
    const block = /<!-- accounts-example -->\n```yaml\n([\s\S]*?)```\n<!-- \/accounts-example -->/.exec(doc)![1]!;
    const pw = join(dir, 'pg-password');
    writeFileSync(pw, 'x', { mode: 0o600 });
    const set = await parseAccounts(block.replace('/etc/dmc-trigger/pg-password', pw), file, {
      DMC_PUSH_PATH: 'p',
      DMC_RETAIL_PASSWORD: 'r',
      DMC_CORPORATE_PASSWORD: 'c',
    });
    expect(set.accounts.map((e) => e.error?.message)).toEqual([undefined, undefined]);
    const [retail, corporate] = set.accounts.map((e) => e.config!);
    expect([retail!.daemon!.store!.schema, corporate!.daemon!.store!.schema]).toEqual(['dmc_11111111', 'dmc_22222222']);
    expect([retail!.timeouts.outcome, corporate!.timeouts.outcome]).toEqual([300, 900]);
    expect([retail!.daemon!.rate, corporate!.daemon!.rate]).toEqual([5, 2]);
    expect(corporate!.push!.path.reveal()).toBe('/dmc/p');
    expect(set.http).toMatchObject({ host: '127.0.0.1', port: 8481, console: true });
  });
});
