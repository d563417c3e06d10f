/**
 * The library's root entry (issue #11): options objects, typed commands,
 * contacts from a file, an array or an async generator, a path or a stream
 * as output, content problems as findings.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { buildTrigger, readReport, validateTrigger, type CommandInput } from '../../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'dmc-api-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const repo = new URL('../../', import.meta.url).pathname;

const SMS: CommandInput = {
  serviceId: 12345678,
  spaceId: 123,
  broadcastName: 'API',
  scenarioId: 40,
  callPlanningId: 41,
  priority: 4,
  maxSimultaneousContact: 5,
  startDate: new Date('2027-07-01T06:00:00Z'),
  messages: [{ customizableId: 10, multimediaType: 'TXT', text: 'Bonjour |contact.prenom|', smsFlash: true }],
};

/** A CRM row as an application declares it: an interface, with no index signature (issue #19.4). */
interface Client {
  nom: string;
  mobile: string;
  reference?: number;
}

describe('buildTrigger', () => {
  it('takes an array of an interface (the type check of `npm test` refused it: index signature missing)', async () => {
    const clients: Client[] = [{ nom: 'Durand', mobile: '0612345678', reference: 7 }];
    const r = await buildTrigger({ command: SMS, contacts: clients, map: { EXTERNALREFERENCE: 'reference' }, to: join(dir, 'interface.csv') });
    expect(r.ok, JSON.stringify(r.findings)).toBe(true);
    expect(readFileSync(join(dir, 'interface.csv'), 'latin1')).toMatch(/NAME;PHONENUMBER1;EXTERNALREFERENCE\nDurand;0612345678;7\n/);
  });

  it('a typed command becomes the wire values (numbers, booleans as 0/1, a Date in Paris time)', async () => {
    const out = join(dir, 'typed.csv');
    const r = await buildTrigger({ command: SMS, contacts: [{ Prénom: 'Zoé', GSM: '0612345678' }], to: out });
    expect(r.ok, JSON.stringify(r.findings)).toBe(true);
    const text = readFileSync(out, 'latin1');
    expect(text).toContain('serviceId:12345678\n');
    expect(text).toContain('priority:4\n');
    expect(text).toContain('maxSimultaneousContact:5\n');
    expect(text).toContain('smsFlash:1\n');
    expect(text).toContain('startDate:2027-07-01 08:00:00\n');
    expect(text).toMatch(/FORENAME;PHONENUMBER1\nZo\xe9;0612345678\n#END/);
  });

  it('contacts from an async generator, to a stream', async () => {
    async function* cursor(): AsyncGenerator<Record<string, unknown>> {
      for (let i = 0; i < 2500; i++) yield { NAME: `N${i}`, PHONENUMBER1: `06${String(i).padStart(8, '0')}` };
    }
    const sink = new PassThrough();
    const chunks: Buffer[] = [];
    sink.on('data', (c: Buffer) => chunks.push(c));
    const r = await buildTrigger({ command: SMS, contacts: cursor(), to: sink, format: 'xml' });
    expect(r.ok).toBe(true);
    expect(r.contacts).toBe(2500);
    const xml = Buffer.concat(chunks).toString('latin1');
    expect(xml.match(/<contact>/g)).toHaveLength(2500);
    expect((await validateTrigger(Buffer.concat(chunks))).valid).toBe(true);
  });

  it('an unknown key in a command is a finding that names it, not an exception', async () => {
    const bad = { ...SMS, broadcastname: 'typo' } as unknown as CommandInput;
    const r = await buildTrigger({ command: bad, contacts: [{ Mobile: '0612345678' }], to: join(dir, 'never.csv') });
    expect(r.ok).toBe(false);
    expect(r.findings[0]).toMatchObject({ code: 'E_COMMAND_FILE', field: 'broadcastname' });
    expect(r.findings[0]!.message).toMatch(/broadcastName/);
    expect(existsSync(join(dir, 'never.csv'))).toBe(false);
  });

  it('a contact that does not fit is reported with its position; nothing is written to a path', async () => {
    const r = await buildTrigger({
      command: SMS,
      contacts: [
        { Mobile: '0612345678', Nom: 'A' },
        { Mobile: '0612345679', Nom: 'Ω' },
      ],
      to: join(dir, 'bad.csv'),
    });
    expect(r.ok).toBe(false);
    expect(r.findings.find((f) => f.severity === 'error')).toMatchObject({ line: 2, field: 'NAME' });
    expect(existsSync(join(dir, 'bad.csv'))).toBe(false);
  });

  it('a split to a stream is refused (it writes several files)', async () => {
    await expect(buildTrigger({ command: SMS, contacts: [{ Mobile: '0612345678' }], to: new PassThrough(), split: 10 })).rejects.toThrow(/give `to` a path/);
  });

  it('a command file and an SI export, as the CLI takes them', async () => {
    const r = await buildTrigger({
      command: join(repo, 'templates/sms.yaml'),
      contacts: join(repo, 'samples/exports/crm-semicolon.csv'),
      to: join(dir, 'crm.csv'),
    });
    expect(r.ok).toBe(true);
    expect(r.contacts).toBe(5);
    expect(r.export?.encoding).toBe('utf8');
  });
});

describe('readReport', () => {
  it('records and summary of a report file', async () => {
    const r = await readReport(join(repo, 'samples/reports/CRA_12345678_2027-01-16.csv'));
    expect(r.records).toHaveLength(12);
    expect(r.summary.broadcasts.map((b) => b.broadcastId)).toEqual(['1000', '1001', '1002']);
    expect(r.findings).toEqual([]);
  });
});

// Types users lean on: checked by `npm run typecheck` (part of `npm test`).
export const typeChecks = (): void => {
  // @ts-expect-error priority is 1, 2 or 4
  const badPriority: CommandInput = { ...SMS, priority: 3 };
  // @ts-expect-error multimediaType is one of the guide's types
  const badType: CommandInput = { ...SMS, messages: [{ multimediaType: 'MP3' }] };
  // @ts-expect-error userLang is Fr_fr or En_gb
  const badLang: CommandInput = { ...SMS, userLang: 'fr' };
  void [badPriority, badType, badLang];
};
