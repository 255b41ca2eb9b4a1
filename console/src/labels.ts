/** The words the console shows for the API's codes. */
import type { Channel, GroupBy, Reason, Scope } from './api/types.ts';

export const REASON_LABELS: Record<Reason, string> = {
  frequency_cap: 'Frequency cap reached',
  min_gap: 'Too soon after the last message',
  relevance_below_threshold: 'Not relevant enough',
  opted_out: 'Opted out of the channel',
  topic_opted_out: 'Opted out of the topic',
  paused: 'Customer paused messages',
  quiet_hours_expired: 'Expired during quiet hours',
  expired: 'Expired before it could go',
  hard_bounce: 'Hard bounce on the channel',
  complained: 'Complaint on the channel',
  erased: 'Customer erased',
  fatigue: 'Customer stopped engaging (fatigue)',
  cancelled: 'Cancelled by the platform',
  preempted: 'Its slot went to a more relevant message',
  digest: 'Rolled into a digest',
};

export const CHANNEL_LABELS: Record<Channel, string> = {
  email: 'Email',
  sms: 'SMS',
  push: 'Push',
  whatsapp: 'WhatsApp',
};

export const SCOPE_LABELS: Record<Scope, string> = {
  send: 'send messages',
  'policy:read': 'read the policy',
  'policy:write': 'change the policy',
  'preferences:read': 'read preferences',
  'preferences:write': 'change preferences',
  'events:write': 'report events',
  'reports:read': 'read reports',
  admin: 'everything (admin)',
};

export const GROUP_LABELS: Record<GroupBy, string> = {
  day: 'Day',
  reason: 'Reason',
  channel: 'Channel',
  campaign: 'Campaign',
  category: 'Category',
};

export const reasonLabel = (reason: string) => REASON_LABELS[reason as Reason] ?? reason;
export const channelLabel = (channel: string) => CHANNEL_LABELS[channel as Channel] ?? channel;

/** Who saved a policy version: a key id, the bootstrap admin key, or the built-in default. */
export function authorLabel(author: string, names: ReadonlyMap<string, string> = new Map()): string {
  if (author === 'default') return 'Governor (built-in default)';
  if (author === 'admin') return 'the bootstrap admin key';
  const name = names.get(author);
  return name ? `${name} (key ${author})` : `key ${author}`;
}
