import { describe, expect, it } from 'vitest';
import { parseCommandFile, toParisWallClock } from '../../src/formats/command-file.js';
import { TriggerFormatError } from '../../src/formats/findings.js';

describe('command files (YAML and JSON)', () => {
  it('keeps every scalar as typed: leading zeros, numbers as strings, booleans as 0/1', () => {
    const c = parseCommandFile('serviceId: 0123\nspaceId: 7\nbroadcastName: X\noneTouchId: 40\n', 'c.yaml');
    expect(c).toEqual({ serviceId: '0123', spaceId: '7', broadcastName: 'X', oneTouchId: '40' });
    const j = parseCommandFile(
      '{"serviceId": "1", "spaceId": 7, "broadcastName": "X", "scenarioId": 1, "callPlanningId": 2, "messages": [{"customizableId": 1, "multimediaType": "txt", "text": "a", "smsFlash": true}]}',
      'c.json',
    );
    expect(j.messages?.[0]).toEqual({ customizableId: '1', multimediaType: 'TXT', text: 'a', smsFlash: '1' });
  });

  it('accepts a single value or a list for repeatable parameters', () => {
    const c = parseCommandFile(
      'serviceId: 1\nspaceId: 1\nbroadcastName: X\ncontactListId: 5\nmessages:\n  - documentId: 1\n    fileAttachment: [a.pdf, b.pdf]\n',
      'c.yaml',
    );
    expect(c.contactListId).toEqual(['5']);
    expect(c.messages?.[0]?.fileAttachment).toEqual(['a.pdf', 'b.pdf']);
  });

  it('refuses an unknown key with its line and a suggestion for a known misspelling', () => {
    try {
      parseCommandFile('serviceId: 1\nspaceId: 1\nbroadcastName: X\nscenariold: 4\ncolour: red\n', 'c.yaml');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(TriggerFormatError);
      const f = (e as TriggerFormatError).findings;
      expect(f.map((x) => [x.line, x.field])).toEqual([
        [4, 'scenariold'],
        [5, 'colour'],
      ]);
      expect(f[0]!.message).toMatch(/did you mean 'scenarioId'/);
    }
  });

  it('reports a YAML syntax error with its line', () => {
    expect(() => parseCommandFile('serviceId: 1\n  bad: [\n', 'c.yaml')).toThrow(TriggerFormatError);
  });

  it('converts an ISO 8601 instant to Europe/Paris wall-clock time, whatever the host time zone', () => {
    expect(toParisWallClock('2027-01-15T08:00:00Z')).toBe('2027-01-15 09:00:00');
    expect(toParisWallClock('2027-07-15T08:00:00Z')).toBe('2027-07-15 10:00:00');
    expect(toParisWallClock('2027-07-15T08:00:00-04:00')).toBe('2027-07-15 14:00:00');
    expect(toParisWallClock('2027-07-15 08:00:00')).toBe('2027-07-15 08:00:00');
    const c = parseCommandFile('serviceId: 1\nspaceId: 1\nbroadcastName: X\noneTouchId: 1\nstartDate: 2027-03-28T01:30:00Z\n', 'c.yaml');
    expect(c.startDate).toBe('2027-03-28 03:30:00');
  });
});
