/**
 * The providers' own events, as the events function's queue hands them over (SES event publishing and
 * End User Messaging SMS, each wrapped in an SNS notification), recorded on dynalite by the same use
 * case as POST /v1/events: the customer is the one the message's tags name, a batch costs one write per
 * customer, a redelivered batch changes nothing, and a record that names nothing is acknowledged
 * without blocking the others.
 */
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLambdaContext } from '#local/http-server.ts';
import { encodeTag } from '#shared/adapters/providers/feedback-tags.ts';
import { type ProviderRecord, recordProviderFeedback } from '#shared/app/provider-feedback.ts';
import type { Root } from '#shared/composition.ts';
import { CallMeter } from '../../bench/lib/meter.ts';
import { ROOMY_POLICY } from '../../bench/lib/workload.ts';
import { type EnginesFixture, startEnginesFixture } from '../support/engines-fixture.ts';

let fixture: EnginesFixture;
const now = Date.parse('2026-11-16T09:00:00.000Z');
let root: Root;
const meter = new CallMeter();

beforeAll(async () => {
  fixture = await startEnginesFixture({
    name: 'provider-feedback',
    clock: { now: () => now },
    policy: { ...ROOMY_POLICY, fatigue: { threshold: 0.1 } },
  });
  root = fixture.root;
  meter.attach(root.db, 'dynamodb');
});

afterAll(async () => {
  await fixture?.stop();
});

/** An SNS notification around `message`, as an SQS subscription without raw delivery receives it. */
const viaSns = (message: unknown) =>
  JSON.stringify({
    Type: 'Notification',
    MessageId: 'f4b1c2d3-0000-4000-8000-000000000001',
    TopicArn: 'arn:aws:sns:eu-west-1:123456789012:governor-provider-events',
    Message: JSON.stringify(message),
    Timestamp: '2026-11-16T08:59:00.000Z',
  });

interface SesOptions {
  messageId: string;
  customerId: string;
  sesMessageId?: string;
  /** The event's own object (delivery, open, bounce…), merged over a timestamp. */
  detail?: Record<string, unknown>;
  /** Tags as SES publishes them; default: the ones SesEmailProvider puts on the message. */
  tags?: Record<string, string[]>;
}

/** An SES event record as the configuration set's SNS destination publishes it. */
function sesEvent(eventType: string, o: SesOptions, at = '2026-11-16T08:30:00.000Z') {
  const detailKey = eventType === 'Rendering Failure' ? 'failure' : eventType.toLowerCase();
  return {
    eventType,
    mail: {
      timestamp: '2026-11-16T08:00:00.000Z',
      source: 'Brand <news@mail.example.com>',
      sendingAccountId: '123456789012',
      messageId: o.sesMessageId ?? `0100018c-${o.messageId}-000000`,
      destination: ['someone@example.com'],
      tags: o.tags ?? {
        'ses:configuration-set': ['governor'],
        'governor-message': [encodeTag(o.messageId)],
        'governor-customer': [encodeTag(o.customerId)],
      },
    },
    [detailKey]: { timestamp: at, ...o.detail },
  };
}

/** An End User Messaging SMS event, with the context the send gave the message. */
function smsEvent(eventType: string, messageId: string, customerId: string) {
  return {
    eventType,
    eventVersion: '1.0',
    eventTimestamp: Date.parse('2026-11-16T08:40:00.000Z'),
    isFinal: true,
    destinationPhoneNumber: '+33612345678',
    messageId: `sms-${messageId}`,
    messageStatus: eventType === 'TEXT_DELIVERED' ? 'DELIVERED' : 'PENDING',
    context: { 'governor-message': encodeTag(messageId), 'governor-customer': encodeTag(customerId) },
  };
}

let ids = 0;
const records = (...bodies: string[]): ProviderRecord[] => bodies.map((body) => ({ id: `r${++ids}`, body }));
const deps = () => root;

describe('recording provider events', () => {
  it("feeds SES deliveries, opens and clicks to the engagement of the customer the message's tags name, one write per customer", async () => {
    // Prepare: two customers, five events
    const batch = records(
      viaSns(sesEvent('Delivery', { messageId: 'e-m1', customerId: 'e-c1' })),
      viaSns(sesEvent('Open', { messageId: 'e-m1', customerId: 'e-c1' })),
      viaSns(sesEvent('Delivery', { messageId: 'e-m2', customerId: 'e-c1' })),
      viaSns(sesEvent('Delivery', { messageId: 'e-m3', customerId: 'e-c2' })),
      viaSns(
        sesEvent(
          'Click',
          { messageId: 'e-m3', customerId: 'e-c2', detail: { link: 'https://x' } },
          '2026-11-16T08:31:00.000Z',
        ),
      ),
    );
    meter.reset();
    // Act
    const result = await recordProviderFeedback(deps(), batch);
    // Assess
    expect(result).toMatchObject({ failed: [], received: 5, applied: 5, ignored: {} });
    expect(meter.snapshot().calls).toEqual({ UpdateItemCommand: 2 });
    const one = await root.customers.read('e-c1');
    expect(one?.state.engagement).toMatchObject({ run: 1 });
    expect(one?.state.engagement.delivered).toBeCloseTo(2, 6);
    expect(one?.state.engagement.engaged).toBeCloseTo(1, 6);
    // A click restores: the customer is neutral again, the click remembered.
    const two = await root.customers.read('e-c2');
    expect(two?.state.engagement).toMatchObject({ delivered: 0, engaged: 0, run: 0 });
    expect(two?.state.engagement.seen).toHaveLength(2);
  });

  it('changes nothing when the same batch is delivered again', async () => {
    // Prepare
    const batch = records(
      viaSns(sesEvent('Delivery', { messageId: 'r-m1', customerId: 'r-c1' })),
      viaSns(sesEvent('Open', { messageId: 'r-m1', customerId: 'r-c1' })),
    );
    await recordProviderFeedback(deps(), batch);
    const before = await root.customers.read('r-c1');
    // Act
    const again = await recordProviderFeedback(deps(), batch);
    // Assess
    expect(again).toMatchObject({ failed: [], received: 2, applied: 0 });
    const after = await root.customers.read('r-c1');
    expect(after?.state.engagement).toEqual(before?.state.engagement);
  });

  it('counts two opens of one message as two events: the event id is SES message id, type and time', async () => {
    const batch = records(
      viaSns(sesEvent('Open', { messageId: 'o-m1', customerId: 'o-c1' }, '2026-11-16T08:30:00.000Z')),
      viaSns(sesEvent('Open', { messageId: 'o-m1', customerId: 'o-c1' }, '2026-11-16T08:45:00.000Z')),
    );

    expect(await recordProviderFeedback(deps(), batch)).toMatchObject({ received: 2, applied: 2 });
  });

  it('takes a permanent bounce as a hard bounce and a complaint as a complaint, and ignores a transient bounce', async () => {
    // Prepare
    const batch = records(
      viaSns(
        sesEvent('Bounce', {
          messageId: 'b-m1',
          customerId: 'b-c1',
          detail: { bounceType: 'Permanent', bounceSubType: 'General', feedbackId: 'fb-1' },
        }),
      ),
      viaSns(
        sesEvent('Bounce', {
          messageId: 'b-m2',
          customerId: 'b-c2',
          detail: { bounceType: 'Transient', bounceSubType: 'MailboxFull', feedbackId: 'fb-2' },
        }),
      ),
      viaSns(
        sesEvent('Complaint', {
          messageId: 'b-m3',
          customerId: 'b-c3',
          detail: { complaintFeedbackType: 'abuse', feedbackId: 'fb-3' },
        }),
      ),
    );
    // Act
    const result = await recordProviderFeedback(deps(), batch);
    // Assess
    expect(result).toMatchObject({ failed: [], received: 2, ignored: { not_feedback: 1 } });
    expect((await root.customers.read('b-c1'))?.state.suppressions).toEqual({ email: 'hard_bounce' });
    expect(await root.customers.read('b-c2')).toBeUndefined();
    expect((await root.customers.read('b-c3'))?.state.suppressions).toEqual({ email: 'complained' });
  });

  it('acknowledges what names nothing, malformed records included, and records the others of the batch', async () => {
    // Prepare
    const good = records(viaSns(sesEvent('Delivery', { messageId: 'x-m1', customerId: 'x-c1' })));
    const nameless = records(
      'not json at all',
      viaSns('{"truncated'),
      JSON.stringify({ hello: 'world' }),
      viaSns(sesEvent('Send', { messageId: 'x-m2', customerId: 'x-c1' })),
      viaSns(sesEvent('Delivery', { messageId: 'x-m3', customerId: 'x-c1', tags: { campaign: ['a'] } })),
      viaSns(
        sesEvent('Delivery', {
          messageId: 'x-m4',
          customerId: 'x-c1',
          tags: { 'governor-message': ['!!'], 'governor-customer': [encodeTag('x-c1')] },
        }),
      ),
    );
    // Act
    const result = await recordProviderFeedback(deps(), [
      ...nameless.slice(0, 3),
      ...good,
      ...nameless.slice(3),
    ]);
    // Assess
    expect(result).toMatchObject({
      failed: [],
      received: 1,
      applied: 1,
      ignored: { malformed: 3, not_feedback: 1, unnamed: 2 },
    });
    expect(result.ignoredRecords.map((r) => r.id).sort()).toEqual(nameless.map((r) => r.id).sort());
    expect((await root.customers.read('x-c1'))?.state.engagement.delivered).toBeCloseTo(1, 6);
  });

  it('takes an SES event delivered raw (without the SNS envelope) as well', async () => {
    const batch = records(JSON.stringify(sesEvent('Delivery', { messageId: 'w-m1', customerId: 'w-c1' })));

    expect(await recordProviderFeedback(deps(), batch)).toMatchObject({ received: 1, applied: 1 });
  });

  it('feeds an SMS delivery receipt to the customer its context names, and ignores the intermediate statuses', async () => {
    // Prepare
    const batch = records(
      viaSns(smsEvent('TEXT_SUCCESSFUL', 's-m1', 's-c1')),
      viaSns(smsEvent('TEXT_DELIVERED', 's-m1', 's-c1')),
    );
    // Act
    const result = await recordProviderFeedback(deps(), batch);
    // Assess
    expect(result).toMatchObject({ failed: [], received: 1, applied: 1, ignored: { not_feedback: 1 } });
    expect((await root.customers.read('s-c1'))?.state.engagement.delivered).toBeCloseTo(1, 6);
  });

  it('reports failed only the records whose write failed, to be delivered again', async () => {
    // Prepare: a store that refuses every write
    const broken = {
      ...root,
      customers: Object.assign(Object.create(root.customers), {
        append: () => Promise.reject(new Error('ProvisionedThroughputExceededException')),
      }),
    };
    const named = records(viaSns(sesEvent('Delivery', { messageId: 'f-m1', customerId: 'f-c1' })));
    const nameless = records('garbage');
    // Act
    const result = await recordProviderFeedback(broken, [...nameless, ...named]);
    // Assess
    expect(result.failed).toEqual(named.map((r) => r.id));
    expect(result.error).toBeInstanceOf(Error);
  });
});

describe('the events queue handler', () => {
  type Handler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
  /** The handler as Lambda loads it: its root from the environment (the fixture's engines and secret). */
  const loadHandler = async () => {
    process.env.GOVERNOR_HASH_SECRET = fixture.config.GOVERNOR_HASH_SECRET;
    return ((await import('#functions/events/feedback-handler.ts')) as unknown as { handler: Handler })
      .handler;
  };
  const sqsEvent = (batch: ProviderRecord[]): SQSEvent => ({
    Records: batch.map(
      (r) =>
        ({
          messageId: r.id,
          receiptHandle: `rh-${r.id}`,
          body: r.body,
          attributes: { ApproximateReceiveCount: '1' },
          messageAttributes: {},
          md5OfBody: '',
          eventSource: 'aws:sqs',
          eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:provider-events',
          awsRegion: 'eu-west-1',
        }) as unknown as SQSRecord,
    ),
  });

  it('answers a partial batch response that retries nothing, malformed records included, and records the rest', async () => {
    // Prepare
    const batch = records(
      'garbage',
      viaSns(sesEvent('Delivery', { messageId: 'h-m1', customerId: 'h-c1' })),
      viaSns(sesEvent('Open', { messageId: 'h-m1', customerId: 'h-c1' })),
    );
    const handler = await loadHandler();
    // Act
    const response = await handler(sqsEvent(batch), createLambdaContext('provider-events-test'));
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    const customer = await root.customers.read('h-c1');
    expect(customer?.state.engagement.delivered).toBeCloseTo(1, 6);
    expect(customer?.state.engagement.engaged).toBeCloseTo(1, 6);
  });
});
