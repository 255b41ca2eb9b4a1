/**
 * The background half of the local stack, as AWS runs it:
 *
 * - **SQS pollers** that invoke the dispatch handler exactly as a Lambda event source mapping does:
 *   long-poll the delivery queue, hand up to `batchSize` records to the handler as an SQS event, delete
 *   the records it did not report in `batchItemFailures` (all of them if it throws nothing; none if it
 *   throws), leave the others to come back when their visibility timeout ends (the handler sets it to
 *   the backoff); the queue's redrive policy moves a message received too often to the DLQ. Several
 *   pollers run at once, like concurrent Lambda instances.
 * - **The release timer**, invoking the release handler every GOVERNOR_RELEASE_INTERVAL_S seconds (a
 *   run that takes longer delays the next; runs never overlap).
 * - **Journal recovery** (see shared/adapters/sqs/delivery-journal.ts): the SQS engine is in memory, so
 *   on start (`recover`, when the engines are new) every journaled delivery that the ledger does not show
 *   as delivered is queued again, and dead-lettered ones are put back in the DLQ; while running, and once
 *   more when they stop, the workers sweep out of the journal what it no longer needs to hold (delivered
 *   messages, and those whose customer was erased), so that no payload stays on disk once delivered.
 */
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { ReleaseSummary } from '#shared/app/release.ts';
import { type Delivery, type DeliveryLedger, type LedgerEntry, ledgerKey } from '#shared/ports.ts';
import type { EngineEndpoints } from './engines.ts';
import { createLambdaContext } from './http-server.ts';
import type { StartHook } from './stack.ts';

export interface DeliveryWorkersOptions {
  /** Concurrent pollers (Lambda instances). Default 8. */
  pollers?: number;
  /** Records per invocation (the event source mapping's batch size). Default 10. */
  batchSize?: number;
  /** Long-poll wait. Default 2 s. */
  waitTimeSeconds?: number;
  /** Default: GOVERNOR_RELEASE_INTERVAL_S (5 s). */
  releaseIntervalS?: number;
  /** How often delivered entries are swept out of the journal. Default 10 s. */
  sweepIntervalMs?: number;
  /**
   * Re-enqueue what the journal holds (default): the engines are new, and their in-memory queue lost
   * it. Off when only the workers restart beside running engines, whose queue still has it.
   */
  recover?: boolean;
  /**
   * For each delivery, whether its customer (the life it was decided in) was erased: such journaled
   * deliveries are dropped at the next sweep, whatever the ledger says. Default: the erasure markers
   * (`root.erasures`), read once per chunk.
   */
  erased?: (deliveries: Delivery[]) => Promise<boolean[]>;
  /** Turn parts off (tests of one part). */
  dispatch?: boolean;
  release?: boolean;
  /**
   * Called after each run of the release timer, with what it released and when it started: a signal
   * a test can wait on instead of a delay (the deployed schedule has no such hook).
   */
  onRelease?: (run: { startedAt: number; summary: ReleaseSummary }) => void;
  log?: (message: string) => void;
}

type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | undefined>;
type ReleaseHandler = (event: unknown, context: Context) => Promise<ReleaseSummary>;

const DISPATCH_TIMEOUT_MS = 30_000;
const RELEASE_TIMEOUT_MS = 50_000;

/** The Lambda SQS event for received messages. */
export function toSqsEvent(messages: Message[], queueArn: string, region: string): SQSEvent {
  const Records: SQSRecord[] = messages.map((m) => ({
    messageId: m.MessageId ?? '',
    receiptHandle: m.ReceiptHandle ?? '',
    body: m.Body ?? '',
    attributes: {
      ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? '1',
      SentTimestamp: m.Attributes?.SentTimestamp ?? String(Date.now()),
      SenderId: m.Attributes?.SenderId ?? '000000000000',
      ApproximateFirstReceiveTimestamp: m.Attributes?.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: Object.fromEntries(
      Object.entries(m.MessageAttributes ?? {}).map(([name, value]) => [
        name,
        {
          dataType: value.DataType ?? 'String',
          ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
          stringListValues: [],
          binaryListValues: [],
        },
      ]),
    ),
    md5OfBody: m.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  }));
  return { Records };
}

/** The pollers, the release timer and journal recovery, as one start hook of the local stack. */
export function deliveryWorkers(options: DeliveryWorkersOptions = {}): StartHook {
  return async (stack: { engines: EngineEndpoints }) => {
    const log = options.log ?? ((message: string) => console.log(message));
    const { getRoot, getDeliveryRoot } = await import('#shared/composition.ts');
    const root = getRoot();
    const delivery = getDeliveryRoot();
    const { engines } = stack;
    const region = engines.env.AWS_REGION ?? 'us-east-1';
    const sqs = new SQSClient({
      endpoint: engines.sqsEndpoint,
      region,
      credentials: {
        accessKeyId: engines.env.AWS_ACCESS_KEY_ID ?? 'local',
        secretAccessKey: engines.env.AWS_SECRET_ACCESS_KEY ?? 'local',
      },
    });
    const stoppers: Array<() => Promise<void>> = [];
    const stopAll = async () => {
      for (const stop of stoppers.reverse()) await stop();
      sqs.destroy();
    };

    try {
      // Stoppers run in reverse: the release timer, the pollers, the journal's last sweep, then this.
      stoppers.push(async () => {
        await delivery.providers.close();
        await root.journal?.close();
      });

      // 1. What the in-memory queue lost when the last process stopped or died.
      const journal = root.journal;
      const retention = journalRetention(
        delivery.ledger,
        options.erased ?? ((deliveries) => root.erasures.erasedDeliveries(deliveries)),
      );
      if (journal && options.recover !== false) {
        let requeued = 0;
        let deadLettered = 0;
        const recovered = await journal.sweep(
          async (chunk) => {
            const needed = await retention(chunk);
            const kept: Delivery[] = [];
            const requeue: Delivery[] = [];
            for (const [d, entry] of needed) {
              kept.push(d);
              if (entry?.status === 'dead') {
                deadLettered++;
                await delivery.redelivery.deadLetter({
                  body: JSON.stringify(d),
                  reason: entry.reason ?? 'dead',
                  receiveCount: entry.attempts,
                  messageId: d.messageId,
                  channel: d.channel,
                });
              } else requeue.push(d);
            }
            await root.sqsQueue.enqueue(requeue);
            requeued += requeue.length;
            return kept;
          },
          // Nothing else of the stack runs yet: every segment there is was left by the last run.
          { takeEveryLiveSegment: true },
        );
        if (recovered.kept > 0)
          log(
            `Recovered ${recovered.kept} undelivered messages from the delivery journal: ${requeued} re-enqueued, ${deadLettered} back in the DLQ`,
          );
      }
      if (journal) {
        const sweep = () => journal.sweep(async (chunk) => [...(await retention(chunk)).keys()]);
        const stopSweeping = sweepEvery(options.sweepIntervalMs ?? 10_000, sweep);
        // Once the pollers are stopped, one last sweep: nothing is delivered any more.
        stoppers.push(async () => {
          await stopSweeping();
          await sweep().catch((error: unknown) => {
            console.error('local worker: the last journal sweep failed:', (error as Error).message);
          });
        });
      }

      // 2. The event source mapping.
      if (options.dispatch !== false) {
        const { handler } = (await import('../functions/dispatch/handler.ts')) as unknown as {
          handler: SqsHandler;
        };
        const { Attributes } = await sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: engines.deliveryQueueUrl, AttributeNames: ['QueueArn'] }),
        );
        const queueArn = Attributes?.QueueArn ?? '';
        const pollers = Array.from({ length: options.pollers ?? 8 }, () =>
          startPoller({
            sqs,
            queueUrl: engines.deliveryQueueUrl,
            queueArn,
            region,
            handler,
            batchSize: options.batchSize ?? 10,
            waitTimeSeconds: options.waitTimeSeconds ?? 2,
          }),
        );
        stoppers.push(async () => {
          await Promise.all(pollers.map((p) => p.stop()));
        });
      }

      // 3. The release schedule.
      if (options.release !== false) {
        const { handler } = (await import('../functions/release/handler.ts')) as unknown as {
          handler: ReleaseHandler;
        };
        const intervalMs = (options.releaseIntervalS ?? root.config.GOVERNOR_RELEASE_INTERVAL_S) * 1000;
        stoppers.push(
          sweepEvery(
            intervalMs,
            async () => {
              const startedAt = Date.now();
              const summary = await handler(
                { source: 'local.release-timer' },
                createLambdaContext('governor-release', RELEASE_TIMEOUT_MS),
              );
              options.onRelease?.({ startedAt, summary });
            },
            { immediately: true },
          ),
        );
      }
    } catch (error) {
      await stopAll().catch(() => {});
      throw error;
    }
    return stopAll;
  };
}

/**
 * What the journal must keep of a chunk of deliveries, with their ledger entries: not what is
 * delivered, nor what was dead-lettered because its customer was erased, nor (with `erased`) any
 * delivery whose customer was erased. Dead-lettered deliveries stay: the DLQ is rebuilt from them.
 */
export function journalRetention(
  ledger: DeliveryLedger,
  erased?: (deliveries: Delivery[]) => Promise<boolean[]>,
): (chunk: Delivery[]) => Promise<Map<Delivery, LedgerEntry | undefined>> {
  return async (chunk) => {
    const [entries, gone] = await Promise.all([
      ledger.entries(chunk),
      erased ? erased(chunk) : chunk.map(() => false),
    ]);
    const needed = new Map<Delivery, LedgerEntry | undefined>();
    for (const [i, d] of chunk.entries()) {
      const entry = entries.get(ledgerKey(d));
      if (entry?.status === 'delivered' || gone[i]) continue;
      if (entry?.status === 'dead' && ERASED_REASON.test(entry.reason ?? '')) continue;
      needed.set(d, entry);
    }
    return needed;
  };
}

/** A dead-letter reason that names an erasure (`erased`, `customer_erased`, …). */
const ERASED_REASON = /(^|[_:])erased$/;

/** Runs `task` every `intervalMs` (measured from the start of the previous run), never overlapping. */
function sweepEvery(
  intervalMs: number,
  task: () => Promise<unknown>,
  { immediately = false } = {},
): () => Promise<void> {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const run = () => {
    const started = Date.now();
    running = task()
      .then(
        () => undefined,
        (error: unknown) => {
          console.error('local worker failed:', error instanceof Error ? error.message : error);
        },
      )
      .finally(() => {
        running = undefined;
        if (!stopped) timer = setTimeout(run, Math.max(0, intervalMs - (Date.now() - started)));
      });
  };
  timer = setTimeout(run, immediately ? 0 : intervalMs);
  return async () => {
    stopped = true;
    clearTimeout(timer);
    await running;
  };
}

interface PollerOptions {
  sqs: SQSClient;
  queueUrl: string;
  queueArn: string;
  region: string;
  handler: SqsHandler;
  batchSize: number;
  waitTimeSeconds: number;
}

/** One poller: receive, invoke, delete what succeeded; as an event source mapping does. */
function startPoller(o: PollerOptions): { stop(): Promise<void> } {
  const abort = new AbortController();
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      let messages: Message[];
      try {
        const out = await o.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: o.queueUrl,
            MaxNumberOfMessages: o.batchSize,
            WaitTimeSeconds: o.waitTimeSeconds,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
          { abortSignal: abort.signal },
        );
        messages = out.Messages ?? [];
      } catch (error) {
        if (stopped) break;
        console.error('local SQS poller: receive failed:', (error as Error).message);
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      if (messages.length === 0) continue;
      const event = toSqsEvent(messages, o.queueArn, o.region);
      let failed: Set<string>;
      try {
        const response = await o.handler(
          event,
          createLambdaContext('governor-dispatch', DISPATCH_TIMEOUT_MS),
        );
        failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
      } catch (error) {
        // A failed invocation: every record comes back after its visibility timeout.
        console.error('local dispatch invocation failed:', (error as Error).message);
        continue;
      }
      const done = messages.filter((m) => !failed.has(m.MessageId ?? ''));
      for (let i = 0; i < done.length; i += 10) {
        const entries = done
          .slice(i, i + 10)
          .map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle }));
        await o.sqs
          .send(new DeleteMessageBatchCommand({ QueueUrl: o.queueUrl, Entries: entries }))
          .catch((error: unknown) => {
            // Not deleted: the message comes back and dispatch recognises it as delivered.
            console.error('local SQS poller: delete failed:', (error as Error).message);
          });
      }
    }
  })();
  return {
    async stop() {
      stopped = true;
      abort.abort();
      await loop;
    },
  };
}
