/**
 * The webhook provider: POSTs each delivery as JSON to the configured URL with `Idempotency-Key:
 * <messageId>` (a receiver that honours it processes a message once even if Governor had to send it
 * again) and `X-Governor-Signature: sha256=<hex HMAC-SHA256 of the exact body with the shared secret>`.
 * 2xx is delivered; 408, 429, 5xx, timeouts and network errors are transient; any other status
 * (4xx, and 3xx: a signed POST is not followed) is permanent.
 */
import { createHmac } from 'node:crypto';
import type { Provider, SendResult } from '../../app/dispatch.ts';
import type { Delivery } from '../../ports.ts';

export interface WebhookTarget {
  url: string;
  secret: string;
}

export const SIGNATURE_HEADER = 'x-governor-signature';

/** The signature header's value for a body: `sha256=<hex>`. */
export function signBody(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
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
   * read is retried on the next send.
   */
  constructor(
    private readonly resolveTarget: () => Promise<WebhookTarget>,
    readonly timeoutMs: number,
    private readonly fetchImpl: typeof fetch = fetch,
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
          [SIGNATURE_HEADER]: signBody(body, target.secret),
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
      retryAfterMs: retryAfterMs(response.headers.get('retry-after'), Date.now()),
    };
  }
}
