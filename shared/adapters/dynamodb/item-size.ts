import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/** A number's size: one byte per two significant digits, plus one. */
function numberSize(text: string): number {
  const digits = text.replace('-', '').replace('.', '').replace(/^0+/, '').replace(/e.*$/i, '');
  return Math.ceil(Math.max(1, digits.length) / 2) + 1;
}

/**
 * The size DynamoDB bills an item at (attribute names plus values), following the published sizing
 * rules: strings and binaries by UTF-8 length, numbers by significant digits, 3 bytes per list or map
 * plus 1 byte per element.
 */
export function attributeSize(value: unknown): number {
  if (value === null || value === undefined || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (typeof value === 'number') return numberSize(String(Math.abs(value)));
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

/** The size of a value in the wire format ({S: 'x'}, {L: [...]}, …), by the same rules. */
export function wireValueSize(v: AttributeValue): number {
  if (v.S !== undefined) return Buffer.byteLength(v.S, 'utf8');
  if (v.N !== undefined) return numberSize(v.N);
  if (v.L !== undefined) {
    let n = 3;
    for (const e of v.L) n += 1 + wireValueSize(e);
    return n;
  }
  if (v.M !== undefined) {
    let n = 3;
    for (const [k, e] of Object.entries(v.M)) n += 1 + Buffer.byteLength(k) + wireValueSize(e);
    return n;
  }
  if (v.B !== undefined) return v.B.byteLength;
  if (v.SS !== undefined) return v.SS.reduce((n, s) => n + Buffer.byteLength(s, 'utf8'), 0);
  if (v.NS !== undefined) return v.NS.reduce((n, s) => n + numberSize(s), 0);
  if (v.BS !== undefined) return v.BS.reduce((n, b) => n + b.byteLength, 0);
  return 1; // NULL, BOOL
}

export function wireItemSize(item: Record<string, AttributeValue>): number {
  let n = 0;
  for (const [k, v] of Object.entries(item)) n += Buffer.byteLength(k) + wireValueSize(v);
  return n;
}
