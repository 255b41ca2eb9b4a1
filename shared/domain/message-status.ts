/**
 * What became of one message, from the customer's replayed log: still deferred (and until when), queued
 * (accepted, or released: sent or on its way), or suppressed (at once, or later: its release refused it,
 * it was cancelled, a more relevant message took its slot). The delivery ledger tells queued from
 * delivered; that is the application's to add.
 */
import type { CustomerState } from './customer-log.ts';
import type { Channel, Reason } from './schemas.ts';

export type MessageState =
  | {
      status: 'deferred';
      channel: Channel;
      releaseAt: number;
      policyVersion: number;
      rule?: string | undefined;
      /** The digest it waits in (reason `digest`). */
      digestId?: string | undefined;
    }
  | {
      status: 'queued';
      channel: Channel;
      policyVersion: number;
      /** The digest it was delivered with (as one send, under the digest's id). */
      digestId?: string | undefined;
    }
  | {
      status: 'suppressed';
      channel: Channel;
      reason: Reason;
      policyVersion: number;
      rule?: string | undefined;
    };

/** The message's state; undefined when the log does not know its key (never decided, or forgotten). */
export function messageStateOf(state: CustomerState, key: string): MessageState | undefined {
  const decided = state.decisions.get(key);
  if (!decided) return undefined;
  const verdict = state.current.get(key) ?? decided.verdict;
  const { policyVersion } = decided;
  const pending = state.pending.get(key);
  if (pending) {
    const rule = verdict.outcome === 'deferred' ? verdict.rule : undefined;
    return {
      status: 'deferred',
      channel: verdict.channel,
      releaseAt: pending.releaseAt,
      policyVersion,
      rule,
      ...(pending.digest ? { digestId: pending.digest.id } : {}),
    };
  }
  if (verdict.outcome === 'suppressed')
    return {
      status: 'suppressed',
      channel: verdict.channel,
      reason: verdict.reason,
      policyVersion,
      rule: verdict.rule,
    };
  if (verdict.outcome === 'accepted') {
    const first = decided.verdict;
    const digestId = first.outcome === 'deferred' ? first.digestId : undefined;
    return { status: 'queued', channel: verdict.channel, policyVersion, ...(digestId ? { digestId } : {}) };
  }
  // Deferred, no longer held, and released in a log compacted before releases were kept: sent if its
  // send is still counted, else it expired.
  if (state.sends.some((s) => s.key === key))
    return { status: 'queued', channel: verdict.channel, policyVersion };
  return { status: 'suppressed', channel: verdict.channel, reason: 'expired', policyVersion };
}
