import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '#shared/config.ts';

function errorOf(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('the configuration was accepted');
}

describe('loadConfig', () => {
  it('reads the defaults from an empty environment', () => {
    expect(loadConfig({})).toMatchObject({ GOVERNOR_POLICY_TTL_MS: 1000, GOVERNOR_TABLE_NAME: 'governor' });
  });

  it('says what is wrong with each variable in one readable line, with the value it got', () => {
    const error = errorOf({
      GOVERNOR_POLICY_TTL_MS: 'abc',
      GOVERNOR_KEY_CACHE_TTL_MS: '400000',
      GOVERNOR_COUNT_FLUSH_MS: '1.5',
      GOVERNOR_PROVIDER_SMS: 'fax',
      GOVERNOR_PROVIDERS: 'email=ses,sms=fax',
      GOVERNOR_WEBHOOK_URL: 'ftp://example.com',
    });

    expect(error.lines.sort()).toEqual([
      'GOVERNOR_COUNT_FLUSH_MS: must be a whole number (got "1.5")',
      'GOVERNOR_KEY_CACHE_TTL_MS: must be at most 300000 (got "400000")',
      'GOVERNOR_POLICY_TTL_MS: must be a number (got "abc")',
      'GOVERNOR_PROVIDERS: sms: must be one of webhook, outbox, ses, sns, sms-voice (got "email=ses,sms=fax")',
      'GOVERNOR_PROVIDER_SMS: must be one of webhook, outbox, ses, sns, sms-voice (got "fax")',
      'GOVERNOR_WEBHOOK_URL: must be a URL (got "ftp://example.com")',
    ]);
    expect(error.message.split('\n')[0]).toBe('invalid configuration:');
    expect(error.message).not.toContain('"code"');
  });

  it('never echoes a secret, only its length', () => {
    const error = errorOf({ GOVERNOR_ADMIN_KEY: 'hunter2', GOVERNOR_WEBHOOK_SECRET: 'short' });

    expect(error.lines.sort()).toEqual([
      'GOVERNOR_ADMIN_KEY: must be at least 16 characters (got a value of 7 characters)',
      'GOVERNOR_WEBHOOK_SECRET: must be at least 16 characters (got a value of 5 characters)',
    ]);
    expect(error.message).not.toContain('hunter2');
  });
});
