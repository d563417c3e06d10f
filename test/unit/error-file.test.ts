import { describe, expect, it } from 'vitest';
import { errorFileText } from '../../src/daemon/error-file.js';
import { finding } from '../../src/formats/findings.js';

describe('error files', () => {
  const fs = [
    finding('E_PHONE', "PHONENUMBER1 'abc' is not a phone number", { line: 3, field: 'PHONENUMBER1' }),
    finding('E_REQUIRED', 'serviceId is required: add it', { field: 'serviceId' }),
  ];
  it('say what was wrong, line and field, in English by default', () => {
    expect(errorFileText('relance.csv', 12, fs, 'en')).toBe(
      "relance.csv could not be sent (input #12):\n\nline 3: E_PHONE [PHONENUMBER1]: PHONENUMBER1 'abc' is not a phone number\nE_REQUIRED [serviceId]: serviceId is required: add it\n",
    );
  });
  it('in French when configured, with the detail kept', () => {
    const t = errorFileText('relance.csv', 12, fs, 'fr');
    expect(t).toMatch(/^relance\.csv n'a pas pu être envoyé \(entrée n°12\) :/);
    expect(t).toContain("ligne 3 : E_PHONE [PHONENUMBER1] — un numéro de téléphone ou de fax invalide\n    PHONENUMBER1 'abc' is not a phone number");
  });
});
