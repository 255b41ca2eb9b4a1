/**
 * A webhook receiver for delivery tests: a real HTTP server that checks each request's Standard Webhooks
 * signature with the specification's own library (`standardwebhooks`, as a receiver would), honours
 * Idempotency-Key (a replay is answered 200 and not processed again, as receivers should), and
 * can be told to fail some requests.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface Arrival {
  messageId: string;
  body: Record<string, unknown>;
  at: number;
}

export interface WebhookReceiver {
  url: string;
  /** Processed messages by Idempotency-Key, in arrival order of their first successful request. */
  arrivals: Map<string, Arrival>;
  /** Requests answered 2xx for a key already processed (replays a receiver must absorb). */
  replays: Map<string, number>;
  /** Requests answered 5xx/4xx on purpose. */
  failed: number;
  /** Requests whose signature did not verify (answered 401). */
  badSignatures: number;
  /** Decides the status of one request (before processing); 200 by default. */
  respond: (messageId: string, attempt: number) => number;
  /** Answers this long after processing (a slow receiver). */
  delayMs: number;
  /** Requests received and not answered yet. */
  pending: number;
  waitFor(predicate: () => boolean, timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/** The verifier a receiver builds from its secret: `whsec_<base64>` as the specification says, else raw. */
export function webhookVerifier(secret: string): Webhook {
  return secret.startsWith('whsec_') ? new Webhook(secret) : new Webhook(secret, { format: 'raw' });
}

/** Whether a request's signature verifies (id, a timestamp within five minutes, the exact body). */
export function verifySignature(body: string, headers: IncomingMessage['headers'], secret: string): boolean {
  try {
    webhookVerifier(secret).verify(body, {
      'webhook-id': String(headers['webhook-id'] ?? ''),
      'webhook-timestamp': String(headers['webhook-timestamp'] ?? ''),
      'webhook-signature': String(headers['webhook-signature'] ?? ''),
    });
    return true;
  } catch {
    return false;
  }
}

export async function startWebhookReceiver(secret: string): Promise<WebhookReceiver> {
  const attempts = new Map<string, number>();
  const receiver: WebhookReceiver = {
    url: '',
    arrivals: new Map(),
    replays: new Map(),
    failed: 0,
    badSignatures: 0,
    respond: () => 200,
    delayMs: 0,
    pending: 0,
    async waitFor(predicate, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate()) {
        if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const handle = (req: IncomingMessage, body: string): number => {
    if (!verifySignature(body, req.headers, secret)) {
      receiver.badSignatures++;
      return 401;
    }
    const key = String(req.headers['idempotency-key']);
    const attempt = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, attempt);
    if (receiver.arrivals.has(key)) {
      receiver.replays.set(key, (receiver.replays.get(key) ?? 0) + 1);
      return 200;
    }
    const status = receiver.respond(key, attempt);
    if (status >= 300) {
      receiver.failed++;
      return status;
    }
    const parsed = JSON.parse(body) as Record<string, unknown>;
    if (parsed.messageId !== key) return 400;
    receiver.arrivals.set(key, { messageId: key, body: parsed, at: Date.now() });
    return status;
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = handle(req, Buffer.concat(chunks).toString('utf8'));
      if (receiver.delayMs === 0) {
        res.writeHead(status).end();
        return;
      }
      receiver.pending++;
      setTimeout(() => {
        receiver.pending--;
        res.writeHead(status).end();
      }, receiver.delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/governor`;
  return receiver;
}

/** A fixed pseudo-random draw in [0, 1) for a text: "random" failures that replay identically. */
export function draw(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  h = Math.imul(h ^ (h >>> 15), 2246822507);
  h = Math.imul(h ^ (h >>> 13), 3266489909);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}
