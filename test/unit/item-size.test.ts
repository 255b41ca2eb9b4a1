import { marshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { itemSize, wireItemSize } from '#shared/adapters/dynamodb/item-size.ts';

const items: Record<string, unknown>[] = [
  { pk: 'c#cus_1', sk: 'state' },
  { pk: 'c#cus_1', sk: 'state', n: 12, x: 1_790_000_000, k: 32_503_680_000 },
  { l: ['m|mww6zg9i|2|UGsPDBsa~em', 's|mww6zg78|2|abZbvtMM|ae|#0~#1|~em'], d: ['promotions', 'cmp-1'] },
  { l: [], b: '{"p":{"channels":{},"topics":{}},"s":{}}', price: -0.00125, flag: true, none: null },
  { m: { a: 'é', b: [1, 'two', { c: 3 }] }, ss: new Set(['x', 'yy']), ns: new Set([1, 22, 333]) },
  { bin: new Uint8Array([1, 2, 3]), bs: new Set([new Uint8Array(4)]), big: 123_456_789_012 },
];

describe('item sizes', () => {
  it('bills strings by UTF-8 bytes, numbers by significant digits, lists with 3 + 1 per element', () => {
    expect(itemSize({ a: 'é' })).toBe(1 + 2);
    expect(itemSize({ n: 12_345 })).toBe(1 + 4);
    expect(itemSize({ l: ['ab', 'c'] })).toBe(1 + 3 + (1 + 2) + (1 + 1));
  });

  it.each(items)('sizes the wire form as the document form (%#)', (item) => {
    expect(wireItemSize(marshall(item))).toBe(itemSize(item));
  });
});
