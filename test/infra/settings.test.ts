import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { settingsFrom } from '../../infra/settings.ts';

const withContext = (context: Record<string, unknown>) => settingsFrom(new App({ context }).node);

describe('settingsFrom', () => {
  it('defaults to no CORS origin, the webhook for every channel and the config.ts defaults', () => {
    expect(withContext({})).toMatchObject({
      allowedOrigins: [],
      providers: {},
      policyTtlMs: 1000,
      idempotencyHours: 72,
      keyCacheTtlMs: 30_000,
      defaultRateLimit: 100,
    });
  });

  it('reads lists and maps given on the command line (-c key=value) as strings', () => {
    const settings = withContext({
      allowedOrigins: 'https://prefs.example.com, https://admin.example.com:8443',
      providers: 'email=ses,sms=sns',
      sesFrom: 'Brand <news@mail.example.com>',
      idempotencyHours: '48',
    });

    expect(settings.allowedOrigins).toEqual(['https://prefs.example.com', 'https://admin.example.com:8443']);
    expect(settings.providers).toEqual({ email: 'ses', sms: 'sns' });
    expect(settings.idempotencyHours).toBe(48);
  });

  it('reads them as JSON values from cdk.json', () => {
    const settings = withContext({
      allowedOrigins: ['https://prefs.example.com'],
      providers: { push: 'webhook' },
    });

    expect(settings.allowedOrigins).toEqual(['https://prefs.example.com']);
    expect(settings.providers).toEqual({ push: 'webhook' });
  });

  it('takes sms-voice for SMS, with the ARN of its origination identity', () => {
    const identity = 'arn:aws:sms-voice:eu-west-1:123456789012:sender-id/SHOP/FR';
    const settings = withContext({ providers: 'sms=sms-voice', smsOriginationIdentity: identity });
    expect(settings).toMatchObject({ providers: { sms: 'sms-voice' }, smsOriginationIdentity: identity });
  });

  it.each([
    ['an origin with a path', { allowedOrigins: 'https://prefs.example.com/centre' }, /allowedOrigins/],
    ['an unknown channel', { providers: 'fax=webhook' }, /providers/],
    ['an unknown provider', { providers: 'email=smtp' }, /providers/],
    ['a plain-http webhook URL', { webhookUrl: 'http://hooks.example.com' }, /webhookUrl/],
    ['the ses provider without a sender', { providers: 'email=ses' }, /sesFrom/],
    [
      'ses for another channel than email',
      { providers: 'sms=ses', sesFrom: 'news@example.com' },
      /ses cannot deliver sms/,
    ],
    ['sns for another channel than sms', { providers: 'push=sns' }, /sns cannot deliver push/],
    [
      'sms-voice for another channel than sms',
      { providers: 'email=sms-voice' },
      /sms-voice cannot deliver email/,
    ],
    [
      'an sms-voice origination identity that is not its ARN (IAM could not name it)',
      { providers: 'sms=sms-voice', smsOriginationIdentity: '+15555550100' },
      /smsOriginationIdentity/,
    ],
  ])('refuses %s before anything is synthesized', (_, context, message) => {
    expect(() => withContext(context)).toThrow(message);
  });
});
