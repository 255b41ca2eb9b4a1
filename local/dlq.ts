/**
 * The local dead-letter queue, for an operator: `npx tsx local/dlq.ts list` shows what is in it (message
 * id, channel, reason, receives) without consuming anything; `npx tsx local/dlq.ts redrive [messageId…]`
 * moves the given messages (all by default) back to the delivery queue, where dispatch sends them again
 * (the delivery ledger lets a dead-lettered message be claimed again). It talks to the running
 * `npm start` of GOVERNOR_DATA_DIR (default `.governor/`), whose endpoints it reads from the data folder.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';

const [command = 'list', ...ids] = process.argv.slice(2);
const dataDir = resolve(process.env.GOVERNOR_DATA_DIR || '.governor/');
const endpoints = JSON.parse(
  await readFile(join(dataDir, 'endpoints.json'), 'utf8').catch(() => '{}'),
) as Record<string, string>;
if (!endpoints.GOVERNOR_SQS_ENDPOINT) {
  console.error(`No running Governor found for ${dataDir} (start it with npm start).`);
  process.exit(1);
}
const sqs = new SQSClient({
  endpoint: endpoints.GOVERNOR_SQS_ENDPOINT,
  region: endpoints.AWS_REGION ?? 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
});
const dlqUrl = endpoints.GOVERNOR_DLQ_URL ?? '';
const queueUrl = endpoints.GOVERNOR_DELIVERY_QUEUE_URL ?? '';

/** Receives every message of the DLQ, invisible for `visibility` seconds (0: a peek). */
async function receiveAll(visibility: number): Promise<Message[]> {
  const all = new Map<string, Message>();
  for (let empty = 0; empty < 2; ) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: dlqUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: visibility,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
      }),
    );
    const fresh = (out.Messages ?? []).filter((m) => !all.has(m.MessageId ?? ''));
    if (fresh.length === 0) empty++;
    for (const m of fresh) all.set(m.MessageId ?? '', m);
  }
  return [...all.values()];
}

const idOf = (m: Message) =>
  m.MessageAttributes?.messageId?.StringValue ??
  (JSON.parse(m.Body ?? '{}') as { messageId?: string }).messageId;

if (command === 'list') {
  const messages = await receiveAll(1);
  for (const m of messages) {
    const a = m.MessageAttributes ?? {};
    console.log(
      [idOf(m), a.channel?.StringValue, a.reason?.StringValue ?? '(redrive policy)', a.failedAt?.StringValue]
        .map((v) => v ?? '-')
        .join('\t'),
    );
  }
  console.log(`${messages.length} message(s) in ${dlqUrl}`);
} else if (command === 'redrive') {
  const wanted = new Set(ids);
  let moved = 0;
  for (const m of await receiveAll(30)) {
    if (wanted.size > 0 && !wanted.has(idOf(m) ?? '')) continue;
    const channel = m.MessageAttributes?.channel?.StringValue;
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: m.Body ?? '',
        ...(channel ? { MessageAttributes: { channel: { DataType: 'String', StringValue: channel } } } : {}),
      }),
    );
    await sqs.send(new DeleteMessageCommand({ QueueUrl: dlqUrl, ReceiptHandle: m.ReceiptHandle }));
    moved++;
  }
  console.log(`${moved} message(s) moved back to ${queueUrl}`);
} else {
  console.error('usage: npx tsx local/dlq.ts list | redrive [messageId…]');
  process.exitCode = 2;
}
sqs.destroy();
