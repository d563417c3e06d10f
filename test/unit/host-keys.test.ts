import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import ssh2 from 'ssh2';
import { fingerprint, keyType, knownHostName, verifyHostKey } from '../../src/transport/host-keys.js';
import { portCommand } from '../../src/transport/ftp-active.js';
import { generateHostKey } from '../../src/simulator/sftp-server.js';

// generateHostKey keeps only a key ssh2's parser accepts: its generator
// writes about 4 in 1,000 it refuses (a leading zero byte dropped).
const key = (): Buffer => {
  const p = ssh2.utils.parseKey(generateHostKey());
  if (p instanceof Error) throw p;
  return (Array.isArray(p) ? p[0]! : p).getPublicSSH() as Buffer;
};

describe('host key pinning', () => {
  const k = key();
  const other = key();
  const b64 = k.toString('base64');

  it('fingerprints as ssh-keygen -l prints them', () => {
    expect(fingerprint(k)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(keyType(k)).toBe('ssh-ed25519');
  });

  it('accepts a pinned fingerprint; an unpinned key is unknown, a different one a mismatch', () => {
    expect(verifyHostKey(k, { host: 'h', port: 2222, pinned: [fingerprint(k)] })).toMatchObject({ ok: true });
    expect(verifyHostKey(k, { host: 'h', port: 2222, pinned: [] })).toMatchObject({ ok: false, reason: 'unknown', fingerprint: fingerprint(k) });
    expect(verifyHostKey(other, { host: 'h', port: 2222, pinned: [fingerprint(k)] })).toMatchObject({ ok: false, reason: 'mismatch' });
  });

  it('reads known_hosts: [host]:port names, hashed names, other hosts ignored, @revoked refused', () => {
    expect(knownHostName('h', 22)).toBe('h');
    expect(knownHostName('h', 2222)).toBe('[h]:2222');
    expect(verifyHostKey(k, { host: 'h', port: 2222, pinned: [], knownHosts: `# comment\n[h]:2222 ssh-ed25519 ${b64}\n` })).toMatchObject({ ok: true });
    expect(verifyHostKey(k, { host: 'h', port: 22, pinned: [], knownHosts: `[h]:2222 ssh-ed25519 ${b64}\n` })).toMatchObject({ ok: false, reason: 'unknown' });
    const salt = randomBytes(20);
    const hashed = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update('[h]:2222').digest('base64')}`;
    expect(verifyHostKey(k, { host: 'h', port: 2222, pinned: [], knownHosts: `${hashed} ssh-ed25519 ${b64}\n` })).toMatchObject({ ok: true });
    expect(verifyHostKey(other, { host: 'h', port: 2222, pinned: [], knownHosts: `${hashed} ssh-ed25519 ${b64}\n` })).toMatchObject({
      ok: false,
      reason: 'mismatch',
    });
    expect(verifyHostKey(k, { host: 'h', port: 2222, pinned: [fingerprint(k)], knownHosts: `@revoked [h]:2222 ssh-ed25519 ${b64}\n` })).toMatchObject({
      ok: false,
      reason: 'revoked',
    });
  });
});

describe('active mode commands', () => {
  it('PORT for IPv4 (also IPv4-mapped), EPRT |2| for IPv6', () => {
    expect(portCommand('127.0.0.1', 50123)).toBe('PORT 127,0,0,1,195,203');
    expect(portCommand('::ffff:10.1.2.3', 21)).toBe('PORT 10,1,2,3,0,21');
    expect(portCommand('2001:db8::7', 50000)).toBe('EPRT |2|2001:db8::7|50000|');
  });
});
