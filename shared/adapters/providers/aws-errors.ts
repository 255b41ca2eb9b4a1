/**
 * What the AWS send providers (SES, SNS) share: one call with a deadline, and how its error is
 * classified: throttling, server faults and
 * network failures are transient; a request the service refuses (bad address, rejected content,
 * unverified identity) is permanent and goes to the DLQ with the error's name as its reason.
 */
import type { SendResult } from '../../ports.ts';

interface AwsError {
  name?: string;
  $fault?: 'client' | 'server';
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number };
}

export function classifyAwsError(error: unknown, transientNames: ReadonlySet<string>): SendResult {
  const e = (error ?? {}) as AwsError;
  const name = e.name ?? 'Error';
  const status = e.$metadata?.httpStatusCode;
  const transient =
    transientNames.has(name) ||
    Boolean(e.$retryable) ||
    e.$fault === 'server' ||
    status === undefined ||
    status === 429 ||
    status >= 500 ||
    name === 'TimeoutError' ||
    name === 'AbortError';
  const timedOut = name === 'TimeoutError' || name === 'AbortError';
  return { ok: false, permanent: !transient, reason: name, ...(timedOut ? { timedOut } : {}) };
}

/** Values EmailTags and SNS attributes accept: letters, digits, `_` and `-`. */
export const tagValue = (text: string) => text.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 256);

/** Runs one provider call within `timeoutMs`: its message id when sent, else the classified failure. */
export async function sendWithin(
  timeoutMs: number,
  transientNames: ReadonlySet<string>,
  call: (abortSignal: AbortSignal) => Promise<{ MessageId?: string | undefined }>,
): Promise<SendResult> {
  try {
    const out = await call(AbortSignal.timeout(timeoutMs));
    return { ok: true, providerMessageId: out.MessageId };
  } catch (error) {
    return classifyAwsError(error, transientNames);
  }
}
