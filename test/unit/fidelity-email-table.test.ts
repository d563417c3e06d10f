/**
 * Email triggers follow their own table (guide lines 9962-9987): its order
 * (userLang after scenarioId, messageSubject before text), its set (no
 * encoding, spreading, documentId, smsLong, fileAttachment,
 * documentAttachment), multimediaType required (line 9985), in the
 * validator and the writer. The guide's own email examples (3.3.6.x, kept
 * in test/fixtures/guide/email/) read with no finding but their errata.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { validateTriggerFile } from '../../src/files/read-trigger.js';
import { emailTriggerBody } from '../../src/formats/mail.js';
import type { TriggerCommand } from '../../src/formats/model.js';

const dir = mkdtempSync(join(tmpdir(), 'dmc-emailtable-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const fixtures = new URL('../fixtures/guide/email/', import.meta.url).pathname;

/** An email body as the platform reads it: the command lines, then contacts. */
async function findingsOf(
  body: string,
  channel: 'file' | 'email' = 'email',
  contacts = 'NAME;EMAIL1;PHONENUMBER1;FAXNUMBER\nDupont;a@b.fr;0612345678;0140000000',
): Promise<string[]> {
  const path = join(dir, `b${Math.random().toString(36).slice(2)}.csv`);
  writeFileSync(path, Buffer.from(`#COMMAND\n${body.trim()}\n#CONTACTS\n${contacts.trim()}\n#END\n`, 'latin1'));
  const r = await validateTriggerFile(path, { channel });
  return [...r.errors, ...r.warnings].map((f) => f.code);
}

describe('the email table (guide lines 9962-9987)', () => {
  it("the guide's email examples read with no finding but their errata (misspelled names, spaces)", async () => {
    // The errata docs/formats.md documents: misspelled names (serviceld...), spaces (the guide's '33 ;Lyon').
    const errata = new Set(['W_PARAM_ERRATUM', 'W_VALUE_ERRATUM', 'W_WHITESPACE', 'W_UNDECLARED_UTF8']);
    const bodies = readdirSync(fixtures).filter((f) => f.endsWith('.body.txt'));
    expect(bodies.length).toBeGreaterThanOrEqual(10);
    for (const f of bodies) {
      const own = join(fixtures, f.replace('.body.txt', '.contacts.csv'));
      const codes = await findingsOf(readFileSync(join(fixtures, f), 'latin1'), 'email', existsSync(own) ? readFileSync(own, 'latin1') : undefined);
      expect(
        codes.filter((c) => !errata.has(c)),
        f,
      ).toEqual([]);
    }
  });

  it('userLang after scenarioId and messageSubject before text: the email order, not an error', async () => {
    const body =
      'serviceId:1\nspaceId:2\nbroadcastName:x\nscenarioId:3\nuserLang:Fr_fr\ncallPlanningId:4\ncustomizableId:5\nmultimediaType:HTML\nmessageSubject:Objet\ntext:<p>Bonjour</p>';
    expect(await findingsOf(body)).toEqual([]);
    // As a file trigger, userLang after scenarioId breaks the file order (line 9066).
    expect(await findingsOf(body, 'file')).toContain('E_PARAM_ORDER');
  });

  it('parameters the email table lacks are refused; multimediaType is required in each block', async () => {
    const base = 'serviceId:1\nspaceId:2\nbroadcastName:x\nscenarioId:3\ncallPlanningId:4\n';
    expect(await findingsOf(`${base}customizableId:5\nmultimediaType:TXT\nsmsLong:1\ntext:Bonjour`)).toContain('E_UNKNOWN_PARAM');
    expect(await findingsOf(`${base}spreading:1\ncustomizableId:5\nmultimediaType:TXT\ntext:Bonjour`)).toContain('E_UNKNOWN_PARAM');
    expect(await findingsOf(`${base}customizableId:5\nmultimediaType:HTML\nfileName:a.html\nfileAttachment:b.pdf`)).toContain('E_UNKNOWN_PARAM');
    expect(await findingsOf(`${base}customizableId:5\ndocumentId:9`)).toEqual(expect.arrayContaining(['E_UNKNOWN_PARAM', 'E_REQUIRED']));
  });

  it('the writer follows the email table: userLang after scenarioId, multimediaType after customizableId, messageSubject before text', () => {
    const command = {
      serviceId: '1',
      spaceId: '2',
      userLang: 'Fr_fr',
      broadcastName: 'x',
      scenarioId: '3',
      callPlanningId: '4',
      messages: [{ customizableId: '5', multimediaType: 'HTML', text: '<p>Bonjour</p>', messageSubject: 'Objet', messageFrom: 'a@b.fr' }],
    } as unknown as TriggerCommand;
    const names = emailTriggerBody(command)
      .body.trim()
      .split('\r\n')
      .map((l) => l.slice(0, l.indexOf(':')));
    expect(names).toEqual([
      'serviceId',
      'spaceId',
      'broadcastName',
      'scenarioId',
      'userLang',
      'callPlanningId',
      'customizableId',
      'multimediaType',
      'messageFrom',
      'messageSubject',
      'text',
    ]);
  });
});
