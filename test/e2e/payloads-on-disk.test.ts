/**
 * Payloads (addresses, phone numbers) stay on disk only until they are delivered: after a run of
 * deliveries — messages accepted at once, and deferred ones released later — and a clean stop, no file
 * of the data folder holds any of them.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../support/local-stack.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';

const SECRET = 'payloads-webhook-secret-0123456789';
const run = Date.now().toString(36);
let stack: TestStack;
let receiver: WebhookReceiver;

/** Every file under the folder, with its bytes. */
async function files(dir: string): Promise<{ path: string; bytes: Buffer }[]> {
  const out: { path: string; bytes: Buffer }[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out.push({ path, bytes: await readFile(path) });
  }
  return out;
}

beforeAll(async () => {
  receiver = await startWebhookReceiver(SECRET);
  stack = await startTestStack({
    env: {
      GOVERNOR_WEBHOOK_URL: receiver.url,
      GOVERNOR_WEBHOOK_SECRET: SECRET,
      GOVERNOR_RELEASE_INTERVAL_S: '1',
      GOVERNOR_POLICY_TTL_MS: '0',
    },
    workers: true,
  });
  const put = await stack.request('PUT', '/v1/policy', {
    headers: { 'if-match': '*' },
    body: {
      // A customer's second message waits 2 seconds: it is deferred, held with its payload, released.
      caps: [{ id: 'burst', limit: 1, window: 'PT2S' }],
      relevance: { default: 0 },
      channelCosts: { email: 0.001, sms: 0.05, push: 0.0005, whatsapp: 0.04, currency: 'EUR' },
    },
  });
  expect(put.status, put.text).toBe(200);
});

afterAll(async () => {
  await stack?.stop();
  await receiver?.close();
  if (stack) await rm(stack.dataDir, { recursive: true, force: true });
});

describe('payloads on disk', () => {
  it('are gone from the data folder once delivered and the stack stopped cleanly', async () => {
    // Prepare: 20 customers, two messages each, every payload naming an address and a phone number.
    const pii = (i: number) => ({
      to: `pii-${run}-${i}@example.com`,
      phone: `+3361${String(i).padStart(7, '0')}`,
    });
    const messages = Array.from({ length: 40 }, (_, i) => ({
      messageId: `${run}-m${i}`,
      customerId: `${run}-c${i % 20}`,
      channel: 'email',
      expiresAt: new Date(Date.now() + 3600_000).toISOString(),
      payload: pii(i),
    }));

    // Act: send them, wait until the receiver has every one, stop as Ctrl-C does.
    const response = await stack.request('POST', '/v1/messages/batch', { body: { messages } });
    const decisions = (response.json().results as { decision: string }[]).map((r) => r.decision);
    expect(decisions.filter((d) => d === 'accepted')).toHaveLength(20);
    expect(decisions.filter((d) => d === 'deferred')).toHaveLength(20);
    await receiver.waitFor(() => receiver.arrivals.size === 40, 30_000);
    await stack.stop({ keepData: true });

    // Assess: no file in the data folder holds any of the addresses or phone numbers.
    const holding: string[] = [];
    for (const { path, bytes } of await files(stack.dataDir))
      for (let i = 0; i < 40; i++)
        if (bytes.includes(pii(i).to) || bytes.includes(pii(i).phone)) holding.push(`${path}: message ${i}`);
    expect(holding).toEqual([]);
  }, 60_000);
});
