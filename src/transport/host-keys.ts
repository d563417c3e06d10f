/**
 * SFTP host key pinning. A server's key must match a pinned `SHA256:`
 * fingerprint (as `ssh-keygen -l` prints it) or a line of an OpenSSH
 * known_hosts file (plain or hashed host names, `[host]:port` for ports
 * other than 22, `@revoked` honoured). An unknown key is refused with its
 * fingerprint and the config line that pins it; "accept new" records it,
 * like OpenSSH's StrictHostKeyChecking=accept-new, and says so.
 */
import { createHash, createHmac } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** `SHA256:` + unpadded base64 of the key blob's SHA-256: what `ssh-keygen -l` prints. */
export function fingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type named inside an SSH key blob (`ssh-ed25519`, `ssh-rsa`...). */
export function keyType(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return 'unknown';
  const n = keyBlob.readUInt32BE(0);
  return keyBlob.subarray(4, 4 + n).toString('latin1');
}

interface KnownHostLine {
  readonly hosts: string;
  readonly type: string;
  readonly key: string;
  readonly revoked: boolean;
}

function parseKnownHosts(text: string): KnownHostLine[] {
  const out: KnownHostLine[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const parts = line.split(/\s+/);
    let revoked = false;
    if (parts[0]?.startsWith('@')) {
      if (parts[0] === '@revoked') revoked = true;
      else continue; // @cert-authority: certificates are not supported
      parts.shift();
    }
    if (parts.length < 3) continue;
    out.push({ hosts: parts[0]!, type: parts[1]!, key: parts[2]!, revoked });
  }
  return out;
}

/** How OpenSSH names a host in known_hosts: `host` on port 22, `[host]:port` otherwise. */
export function knownHostName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function hostMatches(pattern: string, name: string): boolean {
  for (const p of pattern.split(',')) {
    if (p.startsWith('|1|')) {
      const [, , salt, hash] = p.split('|');
      if (!salt || !hash) continue;
      const h = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
      if (h === hash) return true;
    } else if (p === name) {
      return true;
    }
  }
  return false;
}

export type HostKeyVerdict = { ok: true; how: string } | { ok: false; reason: 'unknown' | 'mismatch' | 'revoked'; fingerprint: string; type: string };

export interface HostKeyPolicy {
  readonly host: string;
  readonly port: number;
  readonly pinned: readonly string[];
  /** Contents of the known_hosts file, read before connecting. */
  readonly knownHosts?: string;
}

/** Judges a presented key against the pins and the known_hosts contents. */
export function verifyHostKey(keyBlob: Buffer, policy: HostKeyPolicy): HostKeyVerdict {
  const fp = fingerprint(keyBlob);
  const type = keyType(keyBlob);
  const b64 = keyBlob.toString('base64');
  const name = knownHostName(policy.host, policy.port);
  const lines = policy.knownHosts ? parseKnownHosts(policy.knownHosts).filter((l) => hostMatches(l.hosts, name)) : [];
  if (lines.some((l) => l.revoked && l.key === b64)) return { ok: false, reason: 'revoked', fingerprint: fp, type };
  if (policy.pinned.includes(fp)) return { ok: true, how: `pinned fingerprint ${fp}` };
  if (lines.some((l) => !l.revoked && l.key === b64)) return { ok: true, how: `known_hosts entry for ${name}` };
  const known = policy.pinned.length > 0 || lines.some((l) => !l.revoked);
  return { ok: false, reason: known ? 'mismatch' : 'unknown', fingerprint: fp, type };
}

/** Reads a known_hosts file; a missing file is empty. */
export async function readKnownHosts(path: string): Promise<string> {
  return readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return '';
    throw e;
  });
}

/** Records a host key in a known_hosts file (accept-new). */
export async function recordHostKey(path: string, host: string, port: number, keyBlob: Buffer): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await appendFile(path, `${knownHostName(host, port)} ${keyType(keyBlob)} ${keyBlob.toString('base64')}\n`, { mode: 0o600 });
}
