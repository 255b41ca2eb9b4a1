/**
 * SMS through Amazon SNS (Publish to a phone number). The number comes in the payload, as the email
 * address does for SES: `{phoneNumber: "+33612345678", text}` (E.164; `to` and `message` are accepted
 * as synonyms). Transactional messages are sent as `Transactional` SMS (higher delivery priority),
 * marketing ones as `Promotional`.
 */
import { type MessageAttributeValue, PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import * as z from 'zod';
import type { Delivery, Provider, SendResult } from '../../ports.ts';
import { sendWithin } from './aws-errors.ts';

const e164 = z.string().regex(/^\+[1-9]\d{1,14}$/);
export const smsPayloadSchema = z
  .object({
    phoneNumber: e164.optional(),
    to: e164.optional(),
    text: z.string().min(1).max(1600).optional(),
    message: z.string().min(1).max(1600).optional(),
  })
  .transform((p) => ({ phoneNumber: p.phoneNumber ?? p.to, text: p.text ?? p.message }))
  .refine((p) => p.phoneNumber !== undefined && p.text !== undefined);

const TRANSIENT = new Set([
  'ThrottledException',
  'InternalErrorException',
  'KMSThrottlingException',
  'ThrottlingException',
]);

export interface SnsSmsOptions {
  senderId?: string | undefined;
  originationNumber?: string | undefined;
  timeoutMs: number;
}

export class SnsSmsProvider implements Provider {
  readonly name = 'sns';
  readonly timeoutMs: number;

  constructor(
    private readonly client: SNSClient,
    private readonly options: SnsSmsOptions,
  ) {
    this.timeoutMs = options.timeoutMs;
  }

  async send(delivery: Delivery, options: { timeoutMs?: number } = {}): Promise<SendResult> {
    const parsed = smsPayloadSchema.safeParse(delivery.payload);
    if (!parsed.success) return { ok: false, permanent: true, reason: 'invalid_payload' };
    const attributes: Record<string, MessageAttributeValue> = {
      'AWS.SNS.SMS.SMSType': {
        DataType: 'String',
        StringValue: delivery.kind === 'transactional' ? 'Transactional' : 'Promotional',
      },
    };
    if (this.options.senderId)
      attributes['AWS.SNS.SMS.SenderID'] = { DataType: 'String', StringValue: this.options.senderId };
    if (this.options.originationNumber)
      attributes['AWS.MM.SMS.OriginationNumber'] = {
        DataType: 'String',
        StringValue: this.options.originationNumber,
      };
    return sendWithin(options.timeoutMs ?? this.timeoutMs, TRANSIENT, (abortSignal) =>
      this.client.send(
        new PublishCommand({
          PhoneNumber: parsed.data.phoneNumber,
          Message: parsed.data.text,
          MessageAttributes: attributes,
        }),
        { abortSignal },
      ),
    );
  }
}
