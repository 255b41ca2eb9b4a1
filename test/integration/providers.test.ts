/**
 * The send providers behind the one Provider port: the webhook against a real local HTTP server, the
 * outbox file, and SES / SNS / End User Messaging SMS (no local engine exists: aws-sdk-client-mock). Each classifies failures
 * the same way: transient ones are retried, permanent ones go to the DLQ.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  InternalServerException,
  PinpointSMSVoiceV2Client,
  SendTextMessageCommand,
  ValidationException,
} from '@aws-sdk/client-pinpoint-sms-voice-v2';
import {
  MessageRejected,
  SESv2Client,
  SendEmailCommand,
  TooManyRequestsException,
} from '@aws-sdk/client-sesv2';
import {
  InvalidParameterException,
  PublishCommand,
  SNSClient,
  ThrottledException,
} from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { namedBy } from '#shared/adapters/providers/feedback-tags.ts';
import { createProviders, ProviderConfigError } from '#shared/adapters/providers/index.ts';
import { OutboxProvider } from '#shared/adapters/providers/outbox.ts';
import { SesEmailProvider } from '#shared/adapters/providers/ses.ts';
import { SmsVoiceProvider } from '#shared/adapters/providers/sms-voice.ts';
import { SnsSmsProvider } from '#shared/adapters/providers/sns-sms.ts';
import { retryAfterMs, signWebhook, WebhookProvider } from '#shared/adapters/providers/webhook.ts';
import { loadConfig } from '#shared/config.ts';
import type { Delivery } from '#shared/ports.ts';
import { webhookVerifier } from '#test/support/webhook-receiver.ts';

const SECRET = 'a-webhook-secret-of-some-length';

function aDelivery(overrides: Partial<Delivery> = {}): Delivery {
  return {
    messageId: 'msg-1',
    customerId: 'cust-1',
    channel: 'email',
    kind: 'marketing',
    campaignId: 'black-friday',
    payload: { subject: 'Hello', to: 'someone@example.com', text: 'Hi' },
    acceptedAt: '2026-11-25T10:00:00.000Z',
    policyVersion: 3,
    ...overrides,
  };
}

describe('WebhookProvider', () => {
  let server: Server;
  let url: string;
  let respond: (req: IncomingMessage, res: ServerResponse, body: string) => void;
  const received: { headers: IncomingMessage['headers']; body: string }[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        received.push({ headers: req.headers, body });
        respond(req, res, body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    received.length = 0;
    respond = (_req, res) => res.writeHead(204).end();
  });

  const provider = (timeoutMs = 2000, now = Date.now) =>
    new WebhookProvider(async () => ({ url, secret: SECRET }), timeoutMs, fetch, now);
  const signed = (headers: IncomingMessage['headers']) => ({
    'webhook-id': String(headers['webhook-id']),
    'webhook-timestamp': String(headers['webhook-timestamp']),
    'webhook-signature': String(headers['webhook-signature']),
  });

  it('POSTs the delivery as JSON with its idempotency key and a Standard Webhooks signature', async () => {
    const result = await provider().send(aDelivery());

    expect(result).toEqual({ ok: true, providerMessageId: undefined });
    const [request] = received;
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers['idempotency-key']).toBe('msg-1');
    expect(request?.headers['webhook-id']).toBe('msg-1');
    expect(request?.headers['webhook-timestamp']).toMatch(/^\d{10}$/);
    // The specification's own library verifies it, as a receiver would.
    expect(webhookVerifier(SECRET).verify(request?.body ?? '', signed(request?.headers ?? {}))).toMatchObject(
      {
        messageId: 'msg-1',
      },
    );
    expect(JSON.parse(request?.body ?? '')).toEqual({
      messageId: 'msg-1',
      customerId: 'cust-1',
      channel: 'email',
      kind: 'marketing',
      campaignId: 'black-friday',
      acceptedAt: '2026-11-25T10:00:00.000Z',
      policyVersion: 3,
      payload: { subject: 'Hello', to: 'someone@example.com', text: 'Hi' },
    });
  });

  it.each([
    [500, false, 'http_500'],
    [503, false, 'http_503'],
    [429, false, 'http_429'],
    [408, false, 'http_408'],
    [400, true, 'http_400'],
    [404, true, 'http_404'],
    [410, true, 'http_410'],
    [301, true, 'http_301'],
  ])('classifies HTTP %i (permanent: %s)', async (status, permanent, reason) => {
    respond = (_req, res) => res.writeHead(status, { location: '/elsewhere' }).end();
    expect(await provider().send(aDelivery())).toMatchObject({ ok: false, permanent, reason });
  });

  it('passes on Retry-After from a 429 or 503', async () => {
    respond = (_req, res) => res.writeHead(429, { 'retry-after': '7' }).end();
    expect(await provider().send(aDelivery())).toMatchObject({ retryAfterMs: 7000, permanent: false });
    expect(retryAfterMs('Wed, 25 Nov 2026 10:00:30 GMT', Date.parse('2026-11-25T10:00:00Z'))).toBe(30_000);
  });

  it('gives up on a receiver slower than the timeout, as a transient failure that says it timed out', async () => {
    respond = (_req, res) => setTimeout(() => res.writeHead(200).end(), 1000);
    expect(await provider(150).send(aDelivery())).toEqual({
      ok: false,
      permanent: false,
      reason: 'timeout',
      timedOut: true,
    });
  });

  it('waits as long as dispatch gives a send, instead of its own timeout', async () => {
    respond = (_req, res) => setTimeout(() => res.writeHead(200).end(), 300);
    expect(await provider(150).send(aDelivery(), { timeoutMs: 2000 })).toMatchObject({ ok: true });
  });

  it('treats a refused connection as transient', async () => {
    const closed = new WebhookProvider(
      async () => ({ url: 'http://127.0.0.1:1/hook', secret: SECRET }),
      1000,
    );
    expect(await closed.send(aDelivery())).toMatchObject({ ok: false, permanent: false });
  });

  it('signs the timestamp with the body, so that a captured request cannot be replayed later', async () => {
    // Prepare: a request captured ten minutes ago
    await provider(2000, () => Date.now() - 10 * 60_000).send(aDelivery());
    const [captured] = received;
    const verifier = webhookVerifier(SECRET);
    const headers = signed(captured?.headers ?? {});

    // Act / Assess: replayed as it was, it is too old; with a fresh timestamp, its signature fails
    expect(() => verifier.verify(captured?.body ?? '', headers)).toThrow(/too old/);
    const refreshed = { ...headers, 'webhook-timestamp': String(Math.floor(Date.now() / 1000)) };
    expect(() => verifier.verify(captured?.body ?? '', refreshed)).toThrow(/No matching signature/);
  });

  it("signs as the specification's test vector says, with a whsec_ secret", () => {
    const signature = signWebhook(
      'msg_p5jXN8AQM9LWM0D4loKWxJek',
      1614265330,
      '{"test": 2432232314}',
      'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    );

    expect(signature).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });
});

describe('OutboxProvider', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'governor-outbox-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('appends one whole JSON line per message, even for 200 concurrent sends', async () => {
    const outbox = new OutboxProvider(join(dir, 'sub', 'outbox.jsonl'), { now: () => 0 });
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => outbox.send(aDelivery({ messageId: `m-${i}` }))),
    );
    await outbox.close();

    expect(results.every((r) => r.ok)).toBe(true);
    const lines = (await readFile(join(dir, 'sub', 'outbox.jsonl'), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(200);
    const ids = new Set(lines.map((l) => JSON.parse(l).messageId));
    expect(ids.size).toBe(200);
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({
      deliveredAt: '1970-01-01T00:00:00.000Z',
      channel: 'email',
    });
  });
});

describe('SesEmailProvider', () => {
  const ses = mockClient(SESv2Client);
  afterEach(() => ses.reset());
  const provider = () =>
    new SesEmailProvider(new SESv2Client({ region: 'eu-west-1' }), {
      from: 'Shop <news@example.com>',
      configurationSet: 'governor',
      timeoutMs: 1000,
    });

  it('sends a simple email to the address in the payload, tagged with the message, its customer and campaign', async () => {
    ses.on(SendEmailCommand).resolves({ MessageId: 'ses-1' });
    const result = await provider().send(
      aDelivery({ messageId: 'msg/1', payload: { to: 'a@example.com', subject: 'S', html: '<p>x</p>' } }),
    );

    expect(result).toEqual({ ok: true, providerMessageId: 'ses-1' });
    expect(ses.commandCalls(SendEmailCommand)[0]?.args[0].input).toEqual({
      FromEmailAddress: 'Shop <news@example.com>',
      Destination: { ToAddresses: ['a@example.com'] },
      Content: {
        Simple: {
          Subject: { Data: 'S', Charset: 'UTF-8' },
          Body: { Html: { Data: '<p>x</p>', Charset: 'UTF-8' } },
        },
      },
      EmailTags: [
        { Name: 'governorMessageId', Value: 'msg_1' },
        { Name: 'campaignId', Value: 'black-friday' },
        // base64url of msg/1 and cust-1: SES tags take letters, digits, _ and - only
        { Name: 'governor-message', Value: 'bXNnLzE' },
        { Name: 'governor-customer', Value: 'Y3VzdC0x' },
      ],
      ConfigurationSetName: 'governor',
    });
  });

  it('names any message id and customer id in tags SES accepts, which give the ids back', async () => {
    ses.on(SendEmailCommand).resolves({ MessageId: 'ses-3' });
    const messageId = `m:${'~'.repeat(60)}/+${'x'.repeat(60)}`;
    const customerId = 'c!"#$%&\'()*+,./:;<=>?@[\\]^`{|}~0123456789';
    await provider().send(aDelivery({ messageId, customerId }));

    const tags = ses.commandCalls(SendEmailCommand)[0]?.args[0].input.EmailTags ?? [];
    for (const tag of tags) expect(tag.Value).toMatch(/^[A-Za-z0-9_-]{1,256}$/);
    const asEvent = Object.fromEntries(tags.map((t) => [t.Name, [t.Value]]));
    expect(namedBy(asEvent)).toEqual({ messageId, customerId });
  });

  it('sends a template email', async () => {
    ses.on(SendEmailCommand).resolves({ MessageId: 'ses-2' });
    await provider().send(
      aDelivery({ payload: { to: ['a@example.com'], template: { name: 'promo', data: { n: 1 } } } }),
    );
    expect(ses.commandCalls(SendEmailCommand)[0]?.args[0].input.Content).toEqual({
      Template: { TemplateName: 'promo', TemplateData: '{"n":1}' },
    });
  });

  it('classifies throttling as transient and a rejected message as permanent', async () => {
    ses
      .on(SendEmailCommand)
      .rejects(new TooManyRequestsException({ message: 'slow down', $metadata: { httpStatusCode: 429 } }));
    expect(await provider().send(aDelivery())).toEqual({
      ok: false,
      permanent: false,
      reason: 'TooManyRequestsException',
    });
    ses
      .on(SendEmailCommand)
      .rejects(new MessageRejected({ message: 'no', $metadata: { httpStatusCode: 400 } }));
    expect(await provider().send(aDelivery())).toEqual({
      ok: false,
      permanent: true,
      reason: 'MessageRejected',
    });
  });

  it('refuses a payload without an address, without calling SES', async () => {
    expect(await provider().send(aDelivery({ payload: { subject: 'no address' } }))).toEqual({
      ok: false,
      permanent: true,
      reason: 'invalid_payload',
    });
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(0);
  });
});

describe('SnsSmsProvider', () => {
  const sns = mockClient(SNSClient);
  afterEach(() => sns.reset());
  const provider = () =>
    new SnsSmsProvider(new SNSClient({ region: 'eu-west-1' }), { senderId: 'SHOP', timeoutMs: 1000 });
  const sms = (kind: Delivery['kind'] = 'marketing') =>
    aDelivery({ channel: 'sms', kind, payload: { phoneNumber: '+33612345678', text: 'Hi' } });

  it('publishes to the phone number, promotional for marketing and transactional otherwise', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'sns-1' });
    expect(await provider().send(sms())).toEqual({ ok: true, providerMessageId: 'sns-1' });
    await provider().send(sms('transactional'));

    const [marketing, transactional] = sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
    expect(marketing).toEqual({
      PhoneNumber: '+33612345678',
      Message: 'Hi',
      MessageAttributes: {
        'AWS.SNS.SMS.SMSType': { DataType: 'String', StringValue: 'Promotional' },
        'AWS.SNS.SMS.SenderID': { DataType: 'String', StringValue: 'SHOP' },
      },
    });
    expect(transactional?.MessageAttributes?.['AWS.SNS.SMS.SMSType']?.StringValue).toBe('Transactional');
  });

  it('classifies throttling as transient and a bad parameter as permanent', async () => {
    sns
      .on(PublishCommand)
      .rejects(new ThrottledException({ message: 't', $metadata: { httpStatusCode: 400 } }));
    expect(await provider().send(sms())).toMatchObject({ ok: false, permanent: false });
    sns
      .on(PublishCommand)
      .rejects(new InvalidParameterException({ message: 'p', $metadata: { httpStatusCode: 400 } }));
    expect(await provider().send(sms())).toEqual({
      ok: false,
      permanent: true,
      reason: 'InvalidParameterException',
    });
  });

  it('refuses a number that is not E.164', async () => {
    const bad = aDelivery({ channel: 'sms', payload: { phoneNumber: '0612345678', text: 'Hi' } });
    expect(await provider().send(bad)).toMatchObject({ permanent: true, reason: 'invalid_payload' });
  });
});

describe('SmsVoiceProvider', () => {
  const eum = mockClient(PinpointSMSVoiceV2Client);
  afterEach(() => eum.reset());
  const provider = (options: { originationIdentity?: string } = { originationIdentity: 'SHOP' }) =>
    new SmsVoiceProvider(new PinpointSMSVoiceV2Client({ region: 'eu-west-1' }), {
      configurationSet: 'governor-sms',
      ...options,
      timeoutMs: 1000,
    });
  const sms = (kind: Delivery['kind'] = 'marketing') =>
    aDelivery({
      channel: 'sms',
      kind,
      messageId: 'msg-42',
      customerId: 'cust-7',
      payload: { to: '+33612345678', message: 'Hi' },
    });

  it('sends through the configuration set, promotional for marketing and transactional otherwise', async () => {
    eum.on(SendTextMessageCommand).resolves({ MessageId: 'eum-1' });
    expect(await provider().send(sms())).toEqual({ ok: true, providerMessageId: 'eum-1' });
    await provider().send(sms('transactional'));

    const [marketing, transactional] = eum.commandCalls(SendTextMessageCommand).map((c) => c.args[0].input);
    expect(marketing).toMatchObject({
      DestinationPhoneNumber: '+33612345678',
      MessageBody: 'Hi',
      MessageType: 'PROMOTIONAL',
      OriginationIdentity: 'SHOP',
      ConfigurationSetName: 'governor-sms',
    });
    expect(transactional?.MessageType).toBe('TRANSACTIONAL');
  });

  it('names the message and its customer in the context its delivery events carry back', async () => {
    eum.on(SendTextMessageCommand).resolves({ MessageId: 'eum-1' });
    await provider().send(sms());

    const context = eum.commandCalls(SendTextMessageCommand)[0]?.args[0].input.Context;
    expect(namedBy(context)).toEqual({ messageId: 'msg-42', customerId: 'cust-7' });
    expect(JSON.stringify(context)).not.toContain('+33612345678');
  });

  it('leaves the origination identity to the service when none is configured', async () => {
    eum.on(SendTextMessageCommand).resolves({ MessageId: 'eum-1' });
    await provider({}).send(sms());
    expect(eum.commandCalls(SendTextMessageCommand)[0]?.args[0].input).not.toHaveProperty(
      'OriginationIdentity',
    );
  });

  it('classifies a server fault as transient and a refused request as permanent', async () => {
    eum
      .on(SendTextMessageCommand)
      .rejects(new InternalServerException({ message: 's', $metadata: { httpStatusCode: 500 } }));
    expect(await provider().send(sms())).toMatchObject({ ok: false, permanent: false });
    eum.on(SendTextMessageCommand).rejects(
      new ValidationException({
        message: 'v',
        Reason: 'INVALID_PARAMETER',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    expect(await provider().send(sms())).toEqual({
      ok: false,
      permanent: true,
      reason: 'ValidationException',
    });
  });

  it('refuses a number that is not E.164, without calling the service', async () => {
    const bad = aDelivery({ channel: 'sms', payload: { phoneNumber: '0612345678', text: 'Hi' } });
    expect(await provider().send(bad)).toMatchObject({ permanent: true, reason: 'invalid_payload' });
    expect(eum.commandCalls(SendTextMessageCommand)).toHaveLength(0);
  });
});

describe('createProviders', () => {
  const clock = { now: () => 0 };
  it('delivers every channel to the local outbox when no webhook is configured', () => {
    const providers = createProviders(loadConfig({ GOVERNOR_DATA_DIR: '/tmp/x' }), clock);
    expect(providers.byChannel).toEqual({
      email: 'outbox',
      sms: 'outbox',
      push: 'outbox',
      whatsapp: 'outbox',
    });
    expect((providers.providerFor('sms') as OutboxProvider).path).toBe('/tmp/x/outbox.jsonl');
  });

  it('uses the webhook once configured, with per-channel overrides from either variable', () => {
    const providers = createProviders(
      loadConfig({
        GOVERNOR_WEBHOOK_URL: 'https://hooks.example.com/governor',
        GOVERNOR_WEBHOOK_SECRET: SECRET,
        GOVERNOR_PROVIDERS: '{"email":"ses","push":"outbox"}',
        GOVERNOR_PROVIDER_SMS: 'sns',
        GOVERNOR_SES_FROM: 'news@example.com',
      }),
      clock,
    );
    expect(providers.byChannel).toEqual({ email: 'ses', sms: 'sns', push: 'outbox', whatsapp: 'webhook' });
    expect(providers.providerFor('whatsapp').name).toBe('webhook');
  });

  it('builds the sms-voice provider for SMS with its configuration set, and for SMS only', async () => {
    const eum = mockClient(PinpointSMSVoiceV2Client);
    eum.on(SendTextMessageCommand).resolves({ MessageId: 'eum-1' });
    try {
      const providers = createProviders(
        loadConfig({
          GOVERNOR_DATA_DIR: '/tmp/x',
          GOVERNOR_PROVIDERS: 'sms=sms-voice',
          GOVERNOR_SMS_CONFIGURATION_SET: 'governor-sms',
          GOVERNOR_SMS_ORIGINATION_IDENTITY: '+15555550100',
        }),
        clock,
      );
      expect(providers.byChannel.sms).toBe('sms-voice');
      await providers
        .providerFor('sms')
        .send(aDelivery({ channel: 'sms', payload: { phoneNumber: '+33612345678', text: 'Hi' } }));
      expect(eum.commandCalls(SendTextMessageCommand)[0]?.args[0].input).toMatchObject({
        ConfigurationSetName: 'governor-sms',
        OriginationIdentity: '+15555550100',
      });
    } finally {
      eum.restore();
    }
    expect(() => createProviders(loadConfig({ GOVERNOR_PROVIDER_EMAIL: 'sms-voice' }), clock)).toThrow(
      /sms-voice delivers sms/,
    );
  });

  it('stops at start when a channel needs settings that are missing', () => {
    expect(() => createProviders(loadConfig({ GOVERNOR_PROVIDERS: 'email=ses' }), clock)).toThrow(
      ProviderConfigError,
    );
    expect(() => createProviders(loadConfig({ GOVERNOR_PROVIDERS: 'email=webhook' }), clock)).toThrow(
      /GOVERNOR_WEBHOOK_URL/,
    );
    expect(() => createProviders(loadConfig({ GOVERNOR_PROVIDER_PUSH: 'sns' }), clock)).toThrow(
      /sns delivers sms/,
    );
  });

  it('parses per-channel rate limits', () => {
    expect(loadConfig({ GOVERNOR_RATE_LIMITS: 'sms=50, email=500' }).GOVERNOR_RATE_LIMITS).toEqual({
      sms: 50,
      email: 500,
    });
  });
});
