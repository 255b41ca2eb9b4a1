/**
 * The size DynamoDB bills an item at (attribute names plus values), following the published sizing
 * rules: strings and binaries by UTF-8 length, numbers by significant digits, 3 bytes per list or map
 * plus 1 byte per element.
 */
export function attributeSize(value: unknown): number {
  if (value === null || value === undefined || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (typeof value === 'number') {
    const digits = String(Math.abs(value)).replace('.', '').replace(/^0+/, '').replace(/e.*$/, '');
    return Math.ceil(Math.max(1, digits.length) / 2) + 1;
  }
  if (value instanceof Uint8Array) return value.byteLength;
  if (Array.isArray(value)) return 3 + value.reduce((n: number, v) => n + 1 + attributeSize(v), 0);
  if (value instanceof Set) return [...value].reduce((n: number, v) => n + attributeSize(v), 0);
  if (typeof value === 'object') {
    return (
      3 + Object.entries(value).reduce((n, [k, v]) => n + 1 + Buffer.byteLength(k) + attributeSize(v), 0)
    );
  }
  return 0;
}

export function itemSize(item: Record<string, unknown>): number {
  return Object.entries(item).reduce((n, [k, v]) => n + Buffer.byteLength(k) + attributeSize(v), 0);
}
