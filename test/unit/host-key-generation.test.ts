/**
 * The simulator's host keys always parse: ssh2's generator writes an
 * ed25519 key its own parser refuses about 3 times in 1,000, which failed a
 * full test run (a fresh simulator root could not start its SFTP server).
 */
import ssh2 from 'ssh2';
import { describe, expect, it } from 'vitest';
import { generateHostKey } from '../../src/simulator/sftp-server.js';

describe('simulator host keys', () => {
  it('1,500 generated keys all parse', () => {
    let bad = 0;
    for (let i = 0; i < 1500; i++) if (ssh2.utils.parseKey(generateHostKey()) instanceof Error) bad++;
    expect(bad).toBe(0);
  }, 60_000);
});
