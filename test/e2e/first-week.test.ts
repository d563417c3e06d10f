/**
 * Issue #19, the first week of real use: what the daemon sends is what the
 * user meant. Per-export command files under both names the docs give, the
 * ones that belong to no export, and the ones that come too late.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { broadcastsWith } from '../helpers/platform-record.js';
import { smsCommand, startSimDaemon, type SimDaemon } from '../helpers/sim-daemon.js';

const until = async (what: string, cond: () => boolean, ms = 30_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};
const sidecar = (text: string): string => `messages:\n  - customizableId: 10\n    multimediaType: TXT\n    text: "${text}"\n`;

describe('per-export command files (issue #19.1)', () => {
  let s: SimDaemon;
  let drop: string;
  const events: string[] = [];
  beforeAll(async () => {
    s = await startSimDaemon({
      seed: 'sidecars',
      commands: { 'cmd.yaml': smsCommand('Sidecar {file}') },
      folders: ['{path: drop, command: cmd.yaml}'],
      events: { onEvent: (e) => events.push(JSON.stringify(e)) },
    });
    drop = join(s.root, 'drop');
  });
  afterAll(async () => {
    await s.stop();
  });
  const sentTrigger = (name: string): string => readFileSync(join(drop, 'sent', `${name}.trigger.csv`), 'latin1');

  it('<export>.command.yaml (promo.csv.command.yaml) and <stem>.command.yaml both apply, and follow their export to sent/ under their own names', async () => {
    writeFileSync(join(drop, 'promo.csv.command.yaml'), sidecar('Texte de promo.csv'));
    writeFileSync(join(drop, 'promo.csv'), 'Nom;Mobile;Référence\nA;0612345678;SC-1\n');
    writeFileSync(join(drop, 'stem.command.yaml'), sidecar('Texte de stem'));
    writeFileSync(join(drop, 'stem.csv'), 'Nom;Mobile;Référence\nA;0612345678;SC-2\n');
    await until('both sent', () => existsSync(join(drop, 'sent', 'promo.csv')) && existsSync(join(drop, 'sent', 'stem.csv')));
    expect(sentTrigger('promo.csv')).toContain('text:Texte de promo.csv');
    expect(sentTrigger('stem.csv')).toContain('text:Texte de stem');
    expect(existsSync(join(drop, 'sent', 'promo.csv.command.yaml'))).toBe(true);
    expect(existsSync(join(drop, 'sent', 'stem.command.yaml'))).toBe(true);
    expect(readdirSync(drop).filter((n) => n.includes('command'))).toEqual([]);
  });

  it('two command files for one export fail it, naming both; nothing is sent', async () => {
    writeFileSync(join(drop, 'twice.command.yaml'), sidecar('A'));
    writeFileSync(join(drop, 'twice.csv.command.yaml'), sidecar('B'));
    writeFileSync(join(drop, 'twice.csv'), 'Nom;Mobile;Référence\nA;0612345678;SC-3\n');
    await until('failed and moved', () => existsSync(join(drop, 'failed', 'twice.csv')) && existsSync(join(drop, 'failed', 'twice.csv.error.txt')));
    const error = readFileSync(join(drop, 'failed', 'twice.csv.error.txt'), 'utf8');
    expect(error).toContain('twice.command.yaml, twice.csv.command.yaml');
    expect(existsSync(join(drop, 'failed', 'twice.command.yaml')) && existsSync(join(drop, 'failed', 'twice.csv.command.yaml'))).toBe(true);
    expect(broadcastsWith(join(s.root, 'sim'), 'SC-3')).toBe(0);
  });

  it('an error in a command file names that file and its line', async () => {
    writeFileSync(join(drop, 'broken.command.yaml'), 'messages:\n  - customizableId: 10\n    multimediaType: TXT\n    textt: "x"\n');
    writeFileSync(join(drop, 'broken.csv'), 'Nom;Mobile;Référence\nA;0612345678;SC-4\n');
    await until('failed', () => existsSync(join(drop, 'failed', 'broken.csv.error.txt')));
    expect(readFileSync(join(drop, 'failed', 'broken.csv.error.txt'), 'utf8')).toMatch(/broken\.command\.yaml line 4: .*textt/);
  });

  it('a command file that matches no export is refused within a rescan: error file, failed input in status, failed event', async () => {
    writeFileSync(join(drop, 'promotion.command.yaml'), sidecar('nobody'));
    await until('refused', () => existsSync(join(drop, 'failed', 'promotion.command.yaml.error.txt')), 15_000);
    expect(readFileSync(join(drop, 'failed', 'promotion.command.yaml.error.txt'), 'utf8')).toMatch(
      /applied to nothing.*promo\.csv\.command\.yaml or promo\.command\.yaml/s,
    );
    expect(existsSync(join(drop, 'promotion.command.yaml'))).toBe(false);
    const row = s.daemon.journal.recentInputs(50).find((r) => r.name === 'promotion.command.yaml');
    expect(row?.state).toBe('failed');
    expect(events.some((e) => e.includes('"failed"') && e.includes('promotion.command.yaml'))).toBe(true);
  });

  it('a command file that arrives after its export was taken is refused, saying the export went without it', async () => {
    writeFileSync(join(drop, 'late.csv'), 'Nom;Mobile;Référence\nA;0612345678;SC-5\n');
    await until('sent', () => existsSync(join(drop, 'sent', 'late.csv')));
    writeFileSync(join(drop, 'late.csv.command.yaml'), sidecar('trop tard'));
    await until('refused', () => existsSync(join(drop, 'failed', 'late.csv.command.yaml.error.txt')), 15_000);
    expect(readFileSync(join(drop, 'failed', 'late.csv.command.yaml.error.txt'), 'utf8')).toMatch(/arrived after late\.csv was taken .*NOT applied/);
    expect(sentTrigger('late.csv')).toContain('text:Bonjour');
  });
});
