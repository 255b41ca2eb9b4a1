/**
 * SMS through AWS End User Messaging SMS (`SendTextMessage`). Same payload as the sns provider
 * (`{phoneNumber, text}`, `to`/`message` as synonyms), sent `TRANSACTIONAL` or `PROMOTIONAL` from the
 * configured origination identity (a phone number, sender id or pool, its id or ARN). Unlike SNS
 * `Publish`, the message carries a `Context` map naming the message and its customer (feedback-tags.ts),
 * which the configuration set's event destination hands back with each delivery event
 * (provider-events.ts), so that the SMS's delivery reaches the customer's log without a lookup table.
 */
import { type PinpointSMSVoiceV2Client, SendTextMessageCommand } from '@aws-sdk/client-pinpoint-sms-voice-v2';
import type { Delivery, Provider, SendResult } from '../../ports.ts';
import { sendWithin } from './aws-errors.ts';
import { namingTags } from './feedback-tags.ts';
import { smsPayloadSchema } from './sns-sms.ts';

const TRANSIENT = new Set(['ThrottlingException', 'InternalServerException']);

export interface SmsVoiceOptions {
  /** The configuration set whose event destination publishes the delivery events. */
  configurationSet?: string | undefined;
  /** Phone number, sender id or pool (id or ARN); else the service picks one of the account's. */
  originationIdentity?: string | undefined;
  timeoutMs: number;
}

export class SmsVoiceProvider implements Provider {
  readonly name = 'sms-voice';
  readonly timeoutMs: number;

  constructor(
    private readonly client: PinpointSMSVoiceV2Client,
    private readonly options: SmsVoiceOptions,
  ) {
    this.timeoutMs = options.timeoutMs;
  }

  async send(delivery: Delivery, options: { timeoutMs?: number } = {}): Promise<SendResult> {
    const parsed = smsPayloadSchema.safeParse(delivery.payload);
    if (!parsed.success) return { ok: false, permanent: true, reason: 'invalid_payload' };
    const context = Object.fromEntries(namingTags(delivery).map(({ name, value }) => [name, value]));
    return sendWithin(options.timeoutMs ?? this.timeoutMs, TRANSIENT, (abortSignal) =>
      this.client.send(
        new SendTextMessageCommand({
          DestinationPhoneNumber: parsed.data.phoneNumber,
          MessageBody: parsed.data.text,
          MessageType: delivery.kind === 'transactional' ? 'TRANSACTIONAL' : 'PROMOTIONAL',
          ...(this.options.originationIdentity
            ? { OriginationIdentity: this.options.originationIdentity }
            : {}),
          ...(this.options.configurationSet ? { ConfigurationSetName: this.options.configurationSet } : {}),
          Context: context,
        }),
        { abortSignal },
      ),
    );
  }
}
