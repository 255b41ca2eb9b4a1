/**
 * The write cost of a decision on a customer with --sends recent sends: the customer item as stored (its
 * log's block and entries, by attribute), then what the next decision writes.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { blockParts, decodeBlock, decodeEntry, isBlock } from '#shared/adapters/dynamodb/entry-codec.ts';
import { wireItemSize } from '#shared/adapters/dynamodb/item-size.ts';
import { customerPk, STATE_SK } from '#shared/adapters/dynamodb/keys.ts';
import type { SendDeps } from '#shared/app/send.ts';
import { messageSchema } from '#shared/domain/schemas.ts';
import { CAMPAIGNS, customerId, ROOMY_POLICY } from '../lib/workload.ts';
import type { Bench } from './bench.ts';
import { decisionOf, type Governor } from './governor.ts';

export interface ItemReport {
  /** What the report prints of the item. */
  lines: string[];
  /** Write units of the decision after the sends. */
  writeUnits: number;
}

const LETTERS = {
  settled: 's',
  folded: '*',
  message: 'm',
  preferences: 'p',
  feedback: 'f',
  release: 'r',
  engagement: 'g',
  cancel: 'c',
} as const;

export async function itemLine(bench: Bench, governor: Governor): Promise<ItemReport> {
  const { sends } = bench.options;
  const { meter, config } = bench;
  process.stderr.write(`  item of a customer with ${sends} recent sends…\n`);
  const roomy = await governor.storePolicy(ROOMY_POLICY);
  // A fresh root, so that its policy cache reads the roomy version at once; its clock spaces the sends
  // over the week as a customer's arrive (every 8 hours), since an entry's time is part of its size.
  let now = Date.now();
  const SPACING_MS = 8 * 3_600_000;
  const fresh = governor.createRoot(config, { now: () => now });
  meter.attach(fresh.db, 'dynamodb');
  meter.attach(fresh.sqs, 'sqs');
  const deps: SendDeps = { ...fresh };
  const id = customerId('item', 0);
  const message = (k: number) =>
    messageSchema.parse({
      messageId: `item-${k}`,
      customerId: id,
      channel: 'email',
      category: 'promotions',
      campaignId: CAMPAIGNS[k % CAMPAIGNS.length],
      relevance: 0.9,
      payload: { template: 'x' },
    });
  let accepted = 0;
  for (let k = 0; k < sends; k++) {
    const [answer] = await governor.sendMessages(deps, [message(k)]);
    if (decisionOf(answer) === 'accepted') accepted++;
    now += SPACING_MS;
  }
  const stored = await bench.dynamo.send(
    new GetItemCommand({
      TableName: config.GOVERNOR_TABLE_NAME,
      Key: { pk: { S: customerPk(id) }, sk: { S: STATE_SK } },
      ConsistentRead: true,
    }),
  );
  const storedBytes = stored.Item ? wireItemSize(stored.Item) : 0;
  // The log: the compacted block (words, base, then a settled entry a line) and the entries since.
  const elements = (stored.Item?.l?.L ?? []).map((v) => v.S ?? '');
  const block = isBlock(elements[0] ?? '') ? elements[0] : undefined;
  const appended = block === undefined ? elements : elements.slice(1);
  const parts = block === undefined ? undefined : blockParts(block);
  const header = parts?.header ?? '';
  const settledLines = parts?.lines ?? [];
  const log = [...settledLines, ...appended];
  const entries = [...(block === undefined ? [] : decodeBlock(block).entries), ...appended.map(decodeEntry)];
  const kinds = new Map<string, number>();
  for (const entry of entries) kinds.set(LETTERS[entry.type], (kinds.get(LETTERS[entry.type]) ?? 0) + 1);
  const logBytes = elements.reduce((n, s) => n + 1 + Buffer.byteLength(s), 3);
  const lineBytes = settledLines.reduce((n, s) => n + 1 + Buffer.byteLength(s), 0);
  const attributes = Object.entries(stored.Item ?? {})
    .map(([name, value]) => [name, wireItemSize({ [name]: value })] as const)
    .sort((x, y) => y[1] - x[1])
    .map(([name, bytes]) => `${name} ${bytes}`)
    .join(', ');
  // What the next decision writes itself: the finance counts it adds to are written once a second (or
  // per invocation) for all decisions, and the policy is read once per TTL, so both are done before.
  await fresh.counter.flush();
  await fresh.policies.current();
  meter.reset();
  const [next] = await governor.sendMessages(deps, [message(sends)]);
  const written = meter.snapshot();
  const byCall = (m: Record<string, number>) =>
    Object.entries(m)
      .map(([k, n]) => `${n} ${k.replace(/Command$/, '')}`)
      .join(', ');
  return {
    writeUnits: written.writeUnits,
    lines: [
      `Item of a customer with ${sends} recent accepted sends, ${SPACING_MS / 3_600_000} h apart (policy v${roomy.version} allows them: ${accepted}/${sends} accepted; ${Math.min(sends, CAMPAIGNS.length)} campaigns, ids of ${CAMPAIGNS[0]?.length} chars):`,
      `  as stored: ${storedBytes} B, of which the log ${logBytes} B: ${log.length} entries (${[...kinds].map(([k, n]) => `${n} '${k}'`).join(', ')}); the block's words ${Buffer.byteLength(header)} B, its settled entries ${(lineBytes / Math.max(1, settledLines.length)).toFixed(1)} B each; by attribute (name + value, B): ${attributes}`,
      `  decision ${sends + 1} (${decisionOf(next)}): calls ${byCall(written.calls)}; customer item written at ${written.itemBytesMax} B; write units ${byCall(written.writeUnitsByCall)} = ${written.writeUnits}`,
      `  the block's words: ${header}`,
      `  settled entries: ${settledLines.slice(0, 3).join('  ')}`,
      `  a message entry: ${appended.find((e) => decodeEntry(e).type === 'message') ?? ''}`,
    ],
  };
}
