/**
 * An address as a key to match a contact across sources: the export writes
 * `06 01 02 03 04` with country code 33, the platform `+33601020304` (push,
 * line 6806) or `33601020304`. Phone numbers become their digits with the
 * country code (a leading 0 takes the row's country code, 33 by default;
 * `+` and `00` are dropped); an email is lower-cased.
 */
export function addressKey(value: string, countryCode: string | undefined): string {
  const v = value.trim();
  if (v === '') return '';
  if (v.includes('@')) return v.toLowerCase();
  const compact = v.replace(/[\s./()\\-]/g, '');
  if (compact.startsWith('+')) return compact.slice(1).replace(/\D/g, '');
  if (compact.startsWith('00')) return compact.slice(2).replace(/\D/g, '');
  const cc = (countryCode ?? '').replace(/\D/g, '') || '33';
  if (compact.startsWith('0')) return `${cc}${compact.slice(1).replace(/\D/g, '')}`;
  return compact.replace(/\D/g, '');
}
