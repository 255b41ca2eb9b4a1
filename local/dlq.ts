/**
 * The local dead-letter queue, for an operator: `npx tsx local/dlq.ts list` shows what is in it (message
 * id, channel, reason, receives) without consuming or hiding anything; `npx tsx local/dlq.ts redrive [messageId…]`
 * moves the given messages (all by default) back to the delivery queue, where dispatch sends them again
 * (the delivery ledger lets a dead-lettered message be claimed again). It talks to the running
 * `npm start` of GOVERNOR_DATA_DIR (default `.governor/`), whose endpoints it reads from the data folder.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { parseCli, usageError } from '../scripts/cli.ts';

const { positionals } = parseCli({
  name: 'dlq',
  command: 'npx tsx local/dlq.ts',
  usage: ['list', 'redrive [messageId…]'],
  description:
    'The dead-letter queue of the running npm start of GOVERNOR_DATA_DIR (default .governor/): list what is\n' +
    'in it (leaving it there, visible), or move messages (all by default) back to the delivery queue.',
  allowPositionals: true,
  options: {},
});
const [command = 'list', ...ids] = positionals;
if (command !== 'list' && command !== 'redrive') usageError('dlq', `unknown command ${command}`);
if (command === 'list' && ids.length > 0) usageError('dlq', 'list takes no message id');
const dataDir = resolve(process.env.GOVERNOR_DATA_DIR || '.governor/');
const endpoints = JSON.parse(
  await readFile(join(dataDir, 'endpoints.json'), 'utf8').catch(() => '{}'),
) as Record<string, string>;
if (!endpoints.GOVERNOR_SQS_ENDPOINT) {
  console.error(`No running Governor found for ${dataDir} (start it with npm start).`);
  process.exit(1);
}
// An operator's tool: not the SDK's Node-version notice on every run (npm start silences it too).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const sqs = new SQSClient({
  endpoint: endpoints.GOVERNOR_SQS_ENDPOINT,
  region: endpoints.AWS_REGION ?? 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
});
const dlqUrl = endpoints.GOVERNOR_DLQ_URL ?? '';
const queueUrl = endpoints.GOVERNOR_DELIVERY_QUEUE_URL ?? '';

/**
 * Receives every message of the DLQ, each once: a receive hides what it returns for a while, which is
 * how the next receive gets the messages after it. Whoever calls this must show again (`release`) the
 * messages it does not delete, or they stay hidden for that while.
 */
async function receiveAll(): Promise<Message[]> {
  const all = new Map<string, Message>();
  for (let empty = 0; empty < 2; ) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: dlqUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 30,
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

/** Makes received messages visible again at once, as if they had never been received. */
async function release(messages: Message[]): Promise<void> {
  for (let i = 0; i < messages.length; i += 10) {
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: dlqUrl,
        Entries: messages.slice(i, i + 10).map((m, j) => ({
          Id: String(j),
          ReceiptHandle: m.ReceiptHandle,
          VisibilityTimeout: 0,
        })),
      }),
    );
  }
}

const idOf = (m: Message) =>
  m.MessageAttributes?.messageId?.StringValue ??
  (JSON.parse(m.Body ?? '{}') as { messageId?: string }).messageId;

const received = await receiveAll();
const kept: Message[] = [];
try {
  if (command === 'list') {
    kept.push(...received);
    for (const m of received) {
      const a = m.MessageAttributes ?? {};
      console.log(
        [
          idOf(m),
          a.channel?.StringValue,
          a.reason?.StringValue ?? '(redrive policy)',
          a.failedAt?.StringValue,
        ]
          .map((v) => v ?? '-')
          .join('\t'),
      );
    }
    console.log(`${received.length} message(s) in ${dlqUrl}`);
  } else {
    const wanted = new Set(ids);
    let moved = 0;
    for (const m of received) {
      if (wanted.size > 0 && !wanted.has(idOf(m) ?? '')) {
        kept.push(m);
        continue;
      }
      const channel = m.MessageAttributes?.channel?.StringValue;
      try {
        await sqs.send(
          new SendMessageCommand({
            QueueUrl: queueUrl,
            MessageBody: m.Body ?? '',
            ...(channel
              ? { MessageAttributes: { channel: { DataType: 'String', StringValue: channel } } }
              : {}),
          }),
        );
      } catch (error) {
        kept.push(m);
        throw error;
      }
      await sqs.send(new DeleteMessageCommand({ QueueUrl: dlqUrl, ReceiptHandle: m.ReceiptHandle }));
      moved++;
    }
    console.log(`${moved} message(s) moved back to ${queueUrl}`);
  }
} finally {
  await release(kept);
  sqs.destroy();
}
