/**
 * The provider of each channel, from deployment config (shared/config.ts `providerOf`): webhook, local
 * outbox file, SES (email), SNS or End User Messaging SMS (SMS). Built once at cold start; a provider a
 * channel needs but whose settings are missing stops the function there, not at the first message.
 */
import { PinpointSMSVoiceV2Client } from '@aws-sdk/client-pinpoint-sms-voice-v2';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SNSClient } from '@aws-sdk/client-sns';
import { type Config, outboxFile, type ProviderName, providerMisfit, providerOf } from '../../config.ts';
import { CHANNELS, type Channel } from '../../domain/schemas.ts';
import { GovernorError } from '../../errors.ts';
import { type Clock, MAX_PACED_TIMEOUT_MS, type Provider } from '../../ports.ts';
import { OutboxProvider } from './outbox.ts';
import { SesEmailProvider } from './ses.ts';
import { SmsVoiceProvider } from './sms-voice.ts';
import { SnsSmsProvider } from './sns-sms.ts';
import { WebhookProvider, type WebhookTarget } from './webhook.ts';

/** SDK providers: one attempt per send (dispatch retries through the queue), bounded in time. */
const SDK_TIMEOUT_MS = 10_000;

export interface Providers {
  providerFor(channel: Channel): Provider;
  /** Which provider each channel uses. */
  readonly byChannel: Readonly<Record<Channel, ProviderName>>;
  close(): Promise<void>;
}

/** The deployment configures a provider it cannot build (a 500 if a request ever meets it). */
export class ProviderConfigError extends GovernorError {}

function webhookTarget(config: Config): () => Promise<WebhookTarget> {
  const url = config.GOVERNOR_WEBHOOK_URL;
  const secret = config.GOVERNOR_WEBHOOK_SECRET;
  const arn = config.GOVERNOR_WEBHOOK_SECRET_ARN;
  if (arn) {
    const client = new SecretsManagerClient({ region: config.AWS_REGION });
    return async () => {
      const out = await client.send(new GetSecretValueCommand({ SecretId: arn }));
      const stored = JSON.parse(out.SecretString ?? '{}') as Partial<WebhookTarget>;
      const target = { url: url ?? stored.url ?? '', secret: secret ?? stored.secret ?? '' };
      if (!/^https?:\/\//.test(target.url) || target.secret.length < 16)
        throw new ProviderConfigError('the webhook secret needs {"url": "https://…", "secret": ≥ 16 chars}');
      return target;
    };
  }
  if (!url || !secret)
    throw new ProviderConfigError(
      'the webhook provider needs GOVERNOR_WEBHOOK_URL and GOVERNOR_WEBHOOK_SECRET (or GOVERNOR_WEBHOOK_SECRET_ARN)',
    );
  const target = { url, secret };
  return async () => target;
}

export function createProviders(config: Config, clock: Clock): Providers {
  const byChannel = Object.fromEntries(CHANNELS.map((c) => [c, providerOf(config, c)])) as Record<
    Channel,
    ProviderName
  >;
  // One attempt each (a failed send goes back to the queue, which retries), with a deadline.
  const awsClientConfig = {
    region: config.AWS_REGION,
    maxAttempts: 1,
    // The socket's own limit leaves room for the longer timeout dispatch gives a slow provider.
    requestHandler: { requestTimeout: MAX_PACED_TIMEOUT_MS, connectionTimeout: 3000 },
  };
  const built = new Map<ProviderName, Provider>();
  const build = (name: ProviderName, channel: Channel): Provider => {
    const existing = built.get(name);
    if (existing) return existing;
    const misfit = providerMisfit(name, channel);
    if (misfit) throw new ProviderConfigError(misfit);
    let provider: Provider;
    switch (name) {
      case 'webhook':
        provider = new WebhookProvider(webhookTarget(config), config.GOVERNOR_WEBHOOK_TIMEOUT_MS);
        break;
      case 'outbox':
        provider = new OutboxProvider(outboxFile(config), clock);
        break;
      case 'ses': {
        if (!config.GOVERNOR_SES_FROM)
          throw new ProviderConfigError('the ses provider needs GOVERNOR_SES_FROM');
        provider = new SesEmailProvider(new SESv2Client(awsClientConfig), {
          from: config.GOVERNOR_SES_FROM,
          configurationSet: config.GOVERNOR_SES_CONFIGURATION_SET,
          timeoutMs: SDK_TIMEOUT_MS,
        });
        break;
      }
      case 'sns': {
        provider = new SnsSmsProvider(new SNSClient(awsClientConfig), {
          senderId: config.GOVERNOR_SNS_SENDER_ID,
          originationNumber: config.GOVERNOR_SNS_ORIGINATION_NUMBER,
          timeoutMs: SDK_TIMEOUT_MS,
        });
        break;
      }
      case 'sms-voice': {
        provider = new SmsVoiceProvider(new PinpointSMSVoiceV2Client(awsClientConfig), {
          configurationSet: config.GOVERNOR_SMS_CONFIGURATION_SET,
          originationIdentity: config.GOVERNOR_SMS_ORIGINATION_IDENTITY,
          timeoutMs: SDK_TIMEOUT_MS,
        });
        break;
      }
    }
    built.set(name, provider);
    return provider;
  };
  const providers = Object.fromEntries(CHANNELS.map((c) => [c, build(byChannel[c], c)])) as Record<
    Channel,
    Provider
  >;
  return {
    byChannel,
    providerFor: (channel) => providers[channel],
    async close() {
      for (const p of built.values()) if (p instanceof OutboxProvider) await p.close();
    },
  };
}
