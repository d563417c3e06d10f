import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { codes, collect, csvText, read, SMS_CONTACTS, SMS_LINES, validate } from '../helpers/trigger.js';

describe('CSV reader: errata of the guide are read with a warning', () => {
  it('reads serviceld / spaceld / scenariold / servicId / Priority as canonical names', async () => {
    const r = await validate(
      csvText(
        [
          'serviceld:12345678',
          'spaceld:123',
          'broadcastName:X',
          'scenariold:40',
          'callPlanningId:41',
          'Priority:2',
          'customizableId:10',
          'multimediaType:TXT',
          'text:a',
        ],
        SMS_CONTACTS,
      ),
    );
    expect(r.valid).toBe(true);
    expect(r.command).toMatchObject({ serviceId: '12345678', spaceId: '123', scenarioId: '40', priority: '2' });
    expect(codes(r).filter((c) => c === 'W_PARAM_ERRATUM')).toHaveLength(4);
  });

  it("reads 'serviceld :123456' and 'oneTouchId: 40' trimmed", async () => {
    const r = await validate(csvText(['serviceld :123456', 'spaceId:123', 'broadcastName:X', 'oneTouchId: 40']));
    expect(r.valid).toBe(true);
    expect(r.command.serviceId).toBe('123456');
    expect(r.command.oneTouchId).toBe('40');
  });

  it("reads '00 :00:00' and '23 :59 :59' dates fixed, with a warning naming the line", async () => {
    const lines = [...SMS_LINES];
    lines[4] = 'startDate:2027-01-15 00 :00:00';
    lines[5] = 'stopDate:2027-01-16 23 :59 :59';
    const r = await validate(csvText(lines, SMS_CONTACTS));
    expect(r.valid).toBe(true);
    expect(r.command.startDate).toBe('2027-01-15 00:00:00');
    expect(r.command.stopDate).toBe('2027-01-16 23:59:59');
    expect(r.warnings.filter((w) => w.code === 'W_VALUE_ERRATUM').map((w) => w.line)).toEqual([6, 7]);
  });

  it('reads multimediaType TEXT as TXT, true/false as 1/0, and strips one pair of quotes', async () => {
    const lines = [...SMS_LINES.slice(0, 9), 'multimediaType:TEXT', 'text:"Contenu "cité""', 'smsFlash:true', 'smsLong:false'];
    const r = await validate(csvText(lines, SMS_CONTACTS));
    expect(r.valid).toBe(true);
    expect(r.command.messages?.[0]).toMatchObject({ multimediaType: 'TXT', text: 'Contenu "cité"', smsFlash: '1', smsLong: '0' });
  });

  it('reports a top-level parameter out of order as an error and a block parameter out of order as a warning', async () => {
    const lines = ['serviceId:1', 'spaceId:1', 'scenarioId:40', 'broadcastName:X', 'callPlanningId:41', 'customizableId:10', 'text:a', 'multimediaType:TXT'];
    const r = await validate(csvText(lines, SMS_CONTACTS));
    expect(r.errors.map((e) => [e.code, e.line])).toEqual([['E_PARAM_ORDER', 5]]);
    expect(r.warnings.map((e) => [e.code, e.line])).toEqual([['W_BLOCK_ORDER', 9]]);
  });

  it('starts a new block at each customizableId and keeps repeatable parameters', async () => {
    const lines = [
      'serviceId:1',
      'spaceId:1',
      'broadcastName:X',
      'scenarioId:40',
      'callPlanningId:41',
      'contactListId:1',
      'contactListId:2',
      'customizableId:20',
      'documentId:58',
      'fileAttachment:a.txt',
      'documentAttachment:59',
      'customizableId:22',
      'multimediaType:TXT',
      'text:b',
    ];
    const { reading } = await read(csvText(lines, SMS_CONTACTS));
    expect(reading.head.command.contactListId).toEqual(['1', '2']);
    expect(reading.head.command.messages).toEqual([
      { customizableId: '20', documentId: '58', fileAttachment: ['a.txt'], documentAttachment: ['59'] },
      { customizableId: '22', multimediaType: 'TXT', text: 'b' },
    ]);
  });

  it('accepts a file with no contacts part (the guide favourite) and one with #CONTACTS, a header and no rows', async () => {
    expect((await validate(csvText(['serviceId:1', 'spaceId:1', 'broadcastName:X', 'oneTouchId:40']))).valid).toBe(true);
    expect((await validate(csvText(['serviceId:1', 'spaceId:1', 'broadcastName:X', 'oneTouchId:40'], ['PHONENUMBER1']))).valid).toBe(true);
  });

  it('streams contacts with their line numbers, CRLF or LF', async () => {
    const text = csvText(SMS_LINES, [...SMS_CONTACTS, 'Durand;Paul;0698765432;33']).replace(/\n/g, '\r\n');
    const { reading } = await read(text);
    const rows = await collect(reading.contacts);
    expect(rows.map((r) => r.line)).toEqual([15, 16]);
    expect(rows[1]!.values).toEqual(['Durand', 'Paul', '0698765432', '33']);
  });

  it('warns about text after #END and blank lines', async () => {
    const r = await validate(csvText(SMS_LINES, [...SMS_CONTACTS]) + '\ngarbage\n');
    expect(r.valid).toBe(true);
    expect(codes(r)).toEqual(['W_AFTER_END']);
    const blank = await validate(csvText([...SMS_LINES.slice(0, 3), '', ...SMS_LINES.slice(3)], SMS_CONTACTS));
    expect(codes(blank)).toEqual(['W_BLANK_LINE']);
  });

  it('reports many findings in one file, not just the first', async () => {
    const rows = ['NAME;PHONENUMBER1', ...Array.from({ length: 5 }, (_, i) => `N${i};abc`)];
    const r = await validate(csvText(SMS_LINES, rows));
    expect(r.errors.filter((e) => e.code === 'E_PHONE').map((e) => e.line)).toEqual([15, 16, 17, 18, 19]);
  });

  it('caps the findings of a file with very many bad rows and says how many were left out', async () => {
    const rows = ['NAME;PHONENUMBER1', ...Array.from({ length: 300 }, (_, i) => `N${i};abc`)];
    const { reading, findings } = await read(csvText(SMS_LINES, rows));
    findings.items.length = 0;
    const { validateReading } = await import('../../src/formats/validate.js');
    const { FindingList } = await import('../../src/formats/findings.js');
    const capped = new FindingList(100);
    const r = await validateReading(reading, capped);
    expect(r.errors).toHaveLength(100);
    expect(r.warnings.find((w) => w.code === 'W_FINDINGS_CAPPED')?.message).toMatch(/^200 more error/);
  });
});

describe('CSV reader: encodings', () => {
  it('reads ISO-8859-15 by default: 0xA4 is €', async () => {
    const r = await read(csvText([...SMS_LINES.slice(0, 10), 'text:20 € œ'], SMS_CONTACTS), 'csv', 'iso-8859-15');
    expect(r.reading.head.command.messages?.[0]?.text).toBe('20 € œ');
    expect(r.reading.head.encoding).toBe('iso-8859-15');
  });

  it('honours a declared encoding:UTF8 and encoding:ISO8859-1', async () => {
    const utf = await read(csvText(['encoding:UTF8', ...SMS_LINES.slice(0, 10), 'text:déjà 😀'], SMS_CONTACTS), 'csv', 'utf8');
    expect(utf.reading.head.command.messages?.[0]?.text).toBe('déjà 😀');
    const l1 = await read(csvText(['encoding:ISO8859-1', ...SMS_LINES.slice(0, 10), 'text:déjà'], SMS_CONTACTS), 'csv', 'iso-8859-1');
    expect(l1.reading.head.encoding).toBe('iso-8859-1');
    expect(l1.reading.head.command.messages?.[0]?.text).toBe('déjà');
  });

  it('warns when a file declares nothing but is UTF-8 (the platform would show mojibake), and reads it as UTF-8', async () => {
    const r = await validate(csvText([...SMS_LINES.slice(0, 10), 'text:déjà'], SMS_CONTACTS), 'csv', 'utf8');
    expect(codes(r)).toContain('W_UNDECLARED_UTF8');
    expect(r.command.messages?.[0]?.text).toBe('déjà');
  });

  it('reads a UTF-8 BOM file as UTF-8 without warning', async () => {
    const r = await validate(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(csvText([...SMS_LINES.slice(0, 10), 'text:déjà'], SMS_CONTACTS))]));
    expect(r.warnings).toEqual([]);
    expect(r.command.messages?.[0]?.text).toBe('déjà');
  });

  it('reports bytes that are not UTF-8 in a file declaring UTF8, with the line', async () => {
    const head = csvText(['encoding:UTF8', ...SMS_LINES], [SMS_CONTACTS[0]!]).replace('#END\n', '');
    const bytes = Buffer.concat([Buffer.from(head), Buffer.from('Dupont;P\xe9;0612345678;33\n#END\n', 'latin1')]);
    const r = await validate(bytes);
    expect(r.errors.find((e) => e.code === 'E_DECODE')?.line).toBe(16);
  });

  it('handles a multi-byte character split across chunks', async () => {
    const { readCsvTrigger } = await import('../../src/formats/csv-reader.js');
    const { FindingList } = await import('../../src/formats/findings.js');
    const bytes = Buffer.from(csvText(['encoding:UTF8', ...SMS_LINES.slice(0, 10), 'text:€€€€'], SMS_CONTACTS));
    const chunks = Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1));
    const reading = await readCsvTrigger(chunks, new FindingList());
    expect(reading.head.command.messages?.[0]?.text).toBe('€€€€');
  });
});

describe('XML reader', () => {
  const xml = (body: string, decl = '<?xml version="1.0" encoding="ISO-8859-15"?>\n'): string => `${decl}<dmc>\n${body}</dmc>\n`;
  const AUTH = '<auth><serviceId>1</serviceId><spaceId>2</spaceId></auth>\n';
  const CMD =
    '<command><broadcastName>X</broadcastName><scenarioId>40</scenarioId><callPlanningId>41</callPlanningId>\n<customizableMsgs><customizableMsg><customizableId>10</customizableId><multimediaType>TXT</multimediaType><text>a &amp; b</text></customizableMsg></customizableMsgs></command>\n';
  const CONTACTS = '<contacts><contact><name>Dupont</name><phoneNumber1>0612345678</phoneNumber1><email>p@example.fr</email></contact></contacts>\n';

  it('reads auth, command, blocks and contacts, with entities', async () => {
    const r = await validate(xml(AUTH + CMD + CONTACTS), 'xml');
    expect(r.errors).toEqual([]);
    expect(r.command).toMatchObject({ serviceId: '1', spaceId: '2', messages: [{ text: 'a & b' }] });
    expect(r.contacts).toBe(1);
  });

  it('maps <email> to EMAIL1 and reads contacts with different elements', async () => {
    const { reading } = await read(
      xml(AUTH + CMD + '<contacts><contact><phoneNumber1>0612345678</phoneNumber1></contact><contact><email>a@b.fr</email></contact></contacts>\n'),
      'xml',
    );
    const rows = await collect(reading.contacts);
    expect(reading.head.columns).toEqual(['PHONENUMBER1', 'EMAIL1']);
    expect(rows.map((r) => r.values)).toEqual([['0612345678'], ['', 'a@b.fr']]);
  });

  it('repairs the guide cross-media erratum (</customizableMsgs> after each block) with a warning per stray tag', async () => {
    const blocks =
      '<customizableMsgs><customizableMsg><customizableId>1</customizableId><documentId>5</documentId></customizableMsg></customizableMsgs>\n' +
      '<customizableMsg><customizableId>2</customizableId><multimediaType>TXT</multimediaType><text>t</text></customizableMsg></customizableMsgs>\n';
    const r = await validate(
      xml(AUTH + `<command><broadcastName>X</broadcastName><scenarioId>1</scenarioId><callPlanningId>1</callPlanningId>\n${blocks}</command>\n` + CONTACTS),
      'xml',
    );
    expect(r.errors).toEqual([]);
    expect(r.command.messages).toHaveLength(2);
    expect(r.warnings.filter((w) => w.code === 'W_XML_ERRATUM').map((w) => w.line)).toEqual([5]);
  });

  it('reports malformed XML with its line and stops', async () => {
    const r = await validate(xml(AUTH + '<command><broadcastName>X</command>\n'), 'xml');
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({ code: 'E_XML_MALFORMED', line: 4 });
  });

  it('reads no declaration as UTF-8 when the bytes are UTF-8, else ISO-8859-15, warning either way', async () => {
    const body = xml(AUTH.replace('<spaceId>2', '<spaceId>2') + CMD.replace('a &amp; b', 'é') + CONTACTS, '');
    const u = await validate(Buffer.from(body, 'utf8'), 'xml');
    expect(u.encoding).toBe('utf8');
    expect(u.command.messages?.[0]?.text).toBe('é');
    const l = await validate(iconv.encode(body, 'iso-8859-15'), 'xml');
    expect(l.encoding).toBe('iso-8859-15');
    expect(l.command.messages?.[0]?.text).toBe('é');
    expect(codes(u)).toContain('W_NO_XML_DECLARATION');
    expect(codes(l)).toContain('W_NO_XML_DECLARATION');
  });

  it('reports unknown elements in command and contacts', async () => {
    const r = await validate(
      xml(AUTH + CMD.replace('<broadcastName>', '<colour>x</colour><broadcastName>') + CONTACTS.replace('<name>', '<age>3</age><name>')),
      'xml',
    );
    expect(r.errors.map((e) => e.code).sort()).toEqual(['E_UNKNOWN_COLUMN', 'E_UNKNOWN_PARAM']);
  });

  it('reads a root that is not <dmc> as a structure error', async () => {
    const r = await validate('<?xml version="1.0"?>\n<root/>\n', 'xml');
    expect(codes(r)).toContain('E_XML_STRUCTURE');
  });
});

describe('writer and reader agree on quotes', () => {
  it('a command value that starts and ends with a double quote reads back unchanged', async () => {
    const { encode, SMS, COLS } = await import('../helpers/trigger.js');
    for (const text of ['""', '"cité"', '"a" et "b"', 'sans guillemets']) {
      const out = await encode({ ...SMS, messages: [{ customizableId: '10', multimediaType: 'TXT', text }] }, COLS, [['a', 'b', '0612345678', '33', 'r']]);
      const { reading } = await read(out.bytes);
      expect(reading.head.command.messages?.[0]?.text, text).toBe(text);
    }
  });
});
