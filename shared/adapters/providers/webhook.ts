/**
 * The webhook provider: POSTs each delivery as JSON to the configured URL, signed as the Standard Webhooks
 * specification says (https://www.standardwebhooks.com): `webhook-id: <messageId>`, `webhook-timestamp:
 * <Unix seconds of this attempt>`, `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`.
 * The signature covers the timestamp, so a receiver that refuses old timestamps (the specification's
 * libraries allow five minutes) cannot be fed a captured request again later. `Idempotency-Key:
 * <messageId>` stays: a receiver that honours it processes a message once even if Governor had to send
 * it again. 2xx is delivered; 408, 429, 5xx, timeouts and network errors are transient; any other status
 * (4xx, and 3xx: a signed POST is not followed) is permanent.
 */
import { createHmac } from 'node:crypto';
import type { Delivery, Provider, SendResult } from '../../ports.ts';

export interface WebhookTarget {
  url: string;
  secret: string;
}

const SECRET_PREFIX = 'whsec_';

/**
 * The HMAC key of a secret: a Standard Webhooks secret (`whsec_<base64>`) is its decoded bytes; any other
 * secret is used as it is (the libraries' `{ format: 'raw' }`).
 */
export function signingKey(secret: string): Buffer {
  return secret.startsWith(SECRET_PREFIX)
    ? Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64')
    : Buffer.from(secret, 'utf8');
}

/** The `webhook-signature` of one attempt: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`. */
export function signWebhook(id: string, timestampSeconds: number, body: string, secret: string): string {
  const mac = createHmac('sha256', signingKey(secret)).update(`${id}.${timestampSeconds}.${body}`, 'utf8');
  return `v1,${mac.digest('base64')}`;
}

/** The signed headers of one attempt to deliver `body` as message `id` at `now` (epoch milliseconds). */
export function signatureHeaders(
  id: string,
  body: string,
  secret: string,
  now: number,
): Record<string, string> {
  const timestamp = Math.floor(now / 1000);
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signWebhook(id, timestamp, body, secret),
  };
}

/** The JSON a webhook receives. */
export function webhookBody(delivery: Delivery): string {
  return JSON.stringify({
    messageId: delivery.messageId,
    customerId: delivery.customerId,
    channel: delivery.channel,
    kind: delivery.kind,
    category: delivery.category,
    campaignId: delivery.campaignId,
    acceptedAt: delivery.acceptedAt,
    policyVersion: delivery.policyVersion,
    payload: delivery.payload,
  });
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date. */
export function retryAfterMs(header: string | null, now: number): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export function classifyStatus(status: number): 'ok' | 'transient' | 'permanent' {
  if (status >= 200 && status < 300) return 'ok';
  if (status === 408 || status === 429 || status >= 500) return 'transient';
  return 'permanent';
}

export class WebhookProvider implements Provider {
  readonly name = 'webhook';
  private target: Promise<WebhookTarget> | undefined;

  /**
   * `target` gives the URL and secret: fixed (environment) or read once from a secret store; a failed
   * read is retried on the next send. `now` dates each attempt's signature.
   */
  constructor(
    private readonly resolveTarget: () => Promise<WebhookTarget>,
    readonly timeoutMs: number,
    private readonly fetchImpl: typeof fetch = fetch,
    private readonly now: () => number = Date.now,
  ) {}

  private async currentTarget(): Promise<WebhookTarget> {
    this.target ??= this.resolveTarget().catch((error: unknown) => {
      this.target = undefined;
      throw error;
    });
    return this.target;
  }

  async send(delivery: Delivery, options: { timeoutMs?: number } = {}): Promise<SendResult> {
    let target: WebhookTarget;
    try {
      target = await this.currentTarget();
    } catch {
      return { ok: false, permanent: false, reason: 'webhook_config_unavailable' };
    }
    const body = webhookBody(delivery);
    let response: Response;
    try {
      response = await this.fetchImpl(target.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'idempotency-key': delivery.messageId,
          ...signatureHeaders(delivery.messageId, body, target.secret, this.now()),
          'user-agent': 'governor-webhook/1',
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(options.timeoutMs ?? this.timeoutMs),
      });
    } catch (error) {
      const name = (error as Error).name;
      const timedOut = name === 'TimeoutError' || name === 'AbortError';
      const code = (error as { cause?: { code?: string } }).cause?.code;
      if (timedOut) return { ok: false, permanent: false, reason: 'timeout', timedOut };
      return { ok: false, permanent: false, reason: `network_${code ?? name}` };
    }
    // Read the body out so that the connection goes back to the pool.
    await response.arrayBuffer().catch(() => undefined);
    const kind = classifyStatus(response.status);
    if (kind === 'ok')
      return { ok: true, providerMessageId: response.headers.get('x-request-id') ?? undefined };
    return {
      ok: false,
      permanent: kind === 'permanent',
      reason: `http_${response.status}`,
      retryAfterMs: retryAfterMs(response.headers.get('retry-after'), this.now()),
    };
  }
}
