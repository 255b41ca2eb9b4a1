/**
 * Email through Amazon SES (API v2). Governor stores no addresses: the campaign platform puts them in
 * the payload, which lives only in the queue until delivered. Payload: `{to, subject, text?, html?,
 * replyTo?}` or `{to, template: {name, data?}}`; `to` is an address or a list of addresses. A payload
 * without them is a permanent failure (`invalid_payload`). Every email carries message tags naming the
 * message and its customer (feedback-tags.ts), which the configuration set's event publishing hands
 * back to the events function (ses-events.ts).
 */
import {
  type EmailContent,
  type MessageTag,
  type SESv2Client,
  SendEmailCommand,
} from '@aws-sdk/client-sesv2';
import * as z from 'zod';
import type { Delivery, Provider, SendResult } from '../../ports.ts';
import { sendWithin, tagValue } from './aws-errors.ts';
import { namingTags } from './feedback-tags.ts';

const addresses = z.union([z.string().min(3), z.array(z.string().min(3)).min(1).max(50)]);
export const emailPayloadSchema = z.union([
  z.object({
    to: addresses,
    subject: z.string().min(1),
    text: z.string().optional(),
    html: z.string().optional(),
    replyTo: addresses.optional(),
  }),
  z.object({
    to: addresses,
    template: z.object({ name: z.string().min(1), data: z.record(z.string(), z.unknown()).optional() }),
    replyTo: addresses.optional(),
  }),
]);

const TRANSIENT = new Set([
  'TooManyRequestsException',
  'LimitExceededException',
  'InternalServiceErrorException',
  'SendingPausedException',
  'ThrottlingException',
  'ServiceUnavailable',
]);

export interface SesOptions {
  from: string;
  configurationSet?: string | undefined;
  timeoutMs: number;
}

const list = (a: string | string[]) => (Array.isArray(a) ? a : [a]);

export class SesEmailProvider implements Provider {
  readonly name = 'ses';
  readonly timeoutMs: number;

  constructor(
    private readonly client: SESv2Client,
    private readonly options: SesOptions,
  ) {
    this.timeoutMs = options.timeoutMs;
  }

  async send(delivery: Delivery, options: { timeoutMs?: number } = {}): Promise<SendResult> {
    const parsed = emailPayloadSchema.safeParse(delivery.payload);
    if (!parsed.success) return { ok: false, permanent: true, reason: 'invalid_payload' };
    const p = parsed.data;
    const content: EmailContent =
      'template' in p
        ? { Template: { TemplateName: p.template.name, TemplateData: JSON.stringify(p.template.data ?? {}) } }
        : {
            Simple: {
              Subject: { Data: p.subject, Charset: 'UTF-8' },
              Body: {
                ...(p.text !== undefined ? { Text: { Data: p.text, Charset: 'UTF-8' } } : {}),
                ...(p.html !== undefined ? { Html: { Data: p.html, Charset: 'UTF-8' } } : {}),
              },
            },
          };
    const tags: MessageTag[] = [{ Name: 'governorMessageId', Value: tagValue(delivery.messageId) }];
    if (delivery.campaignId) tags.push({ Name: 'campaignId', Value: tagValue(delivery.campaignId) });
    // The configuration set's events name the message and its customer by these (ses-events.ts).
    for (const { name, value } of namingTags(delivery)) tags.push({ Name: name, Value: value });
    return sendWithin(options.timeoutMs ?? this.timeoutMs, TRANSIENT, (abortSignal) =>
      this.client.send(
        new SendEmailCommand({
          FromEmailAddress: this.options.from,
          Destination: { ToAddresses: list(p.to) },
          ...(p.replyTo ? { ReplyToAddresses: list(p.replyTo) } : {}),
          Content: content,
          EmailTags: tags,
          ...(this.options.configurationSet ? { ConfigurationSetName: this.options.configurationSet } : {}),
        }),
        { abortSignal },
      ),
    );
  }
}
