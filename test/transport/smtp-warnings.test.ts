/**
 * The SMTP side says what nodemailer does silently (issue #10): credentials
 * configured for a server that offers no AUTH are not used; a login without
 * TLS sends the password in clear. And the platform address keeps the case
 * it was configured with in what dmc-trigger prints and records.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import { Mailer } from '../../src/transport/smtp.js';
import { silentLogger } from '../../src/transport/logger.js';

const dir = mkdtempSync(join(tmpdir(), 'dmc-smtpwarn-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function server(o: Partial<SMTPServerOptions>): Promise<{ port: number; logins: string[]; close(): Promise<void> }> {
  const logins: string[] = [];
  const s = new SMTPServer({
    logger: false,
    authOptional: true,
    ...o,
    onAuth(auth, _session, cb) {
      logins.push(auth.username ?? '');
      cb(null, { user: auth.username });
    },
    onData(stream, _session, cb) {
      stream.resume();
      stream.on('end', () => cb());
    },
  });
  await new Promise<void>((res) => s.listen(0, '127.0.0.1', () => res()));
  return { port: (s.server.address() as AddressInfo).port, logins, close: () => new Promise<void>((res) => s.close(() => res())) };
}

async function mailerFor(port: number, credentials: boolean): Promise<Mailer> {
  const smtp = `{host: 127.0.0.1, port: ${port}, requireTLS: false${credentials ? ', username: relay-user, password: "${SMTP_PW}"' : ''}}`;
  const cfg = await parseConfig(
    `service: {serviceId: "12345678", spaceId: 123}\nmail: {from: ops@client1.fr, stateDir: ${dir}, smtp: ${smtp}}\n`,
    join(dir, 'dmc.yaml'),
    { SMTP_PW: 'relay-secret' },
  );
  return new Mailer(cfg.mail!, silentLogger);
}

describe('SMTP warnings (issue #10)', () => {
  it('credentials for a server that offers no AUTH: sent, and said', async () => {
    const s = await server({ disabledCommands: ['AUTH', 'STARTTLS'] });
    const m = await mailerFor(s.port, true);
    try {
      const sent = await m.send({ to: '123@mailtoSMS.fr', subject: '0612345678', text: 'Bonjour' });
      expect(sent.warnings).toHaveLength(1);
      expect(sent.warnings[0]).toMatch(/offered no AUTH: mail\.smtp\.username and password were not used/);
      expect(sent.warnings.join('')).not.toContain('relay-secret');
    } finally {
      m.close();
      await s.close();
    }
  });

  it('a login without TLS: the password went in clear, said with the setting that prevents it', async () => {
    const s = await server({ disabledCommands: ['STARTTLS'], allowInsecureAuth: true });
    const m = await mailerFor(s.port, true);
    try {
      const sent = await m.send({ to: '123@mailtoSMS.fr', subject: '0612345678', text: 'Bonjour' });
      expect(s.logins).toEqual(['relay-user']);
      expect(sent.warnings).toEqual([expect.stringMatching(/went without TLS: the password travelled in clear; set mail\.smtp\.requireTLS: true/)]);
    } finally {
      m.close();
      await s.close();
    }
  });

  it('no credentials: nothing to say', async () => {
    const s = await server({ disabledCommands: ['AUTH', 'STARTTLS'] });
    const m = await mailerFor(s.port, false);
    try {
      const sent = await m.send({ to: '123@mailtoSMS.fr', subject: '0612345678', text: 'Bonjour' });
      expect(sent.warnings).toEqual([]);
    } finally {
      m.close();
      await s.close();
    }
  });
});
