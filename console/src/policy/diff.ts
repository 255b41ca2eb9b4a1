/**
 * What changed between two policy documents, in words, grouped by section: the version history's diff,
 * the unsaved changes of a draft, and what someone else saved meanwhile (the 412 flow).
 */
import { type Cap, CHANNELS, type Channel, type PolicyDocument } from '../api/types.ts';
import { type Format, formatFor } from '../format.ts';
import { channelLabel } from '../labels.ts';
import { quietHoursWords, ruleWords, scopeWords } from './describe.ts';

export type Section = 'Caps' | 'Relevance' | 'Quiet hours' | 'Fatigue' | 'Channel costs';

export interface Change {
  section: Section;
  text: string;
}

type NumberFormat = (n: number) => string;
export type Numbers = Pick<Format, 'number' | 'decimal'>;

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const orNone = (value: string | undefined, none: string) => value ?? none;

function capChanges(before: Cap[], after: Cap[], number: NumberFormat): Change[] {
  const changes: Change[] = [];
  const old = new Map(before.map((cap) => [cap.id, cap]));
  const now = new Map(after.map((cap) => [cap.id, cap]));
  for (const cap of after) {
    const was = old.get(cap.id);
    if (!was) {
      changes.push({
        section: 'Caps',
        text: `Added “${cap.id}”: ${ruleWords(cap, number)}, ${scopeWords(cap.match)}`,
      });
      continue;
    }
    if (ruleWords(was, number) !== ruleWords(cap, number)) {
      changes.push({
        section: 'Caps',
        text: `“${cap.id}”: ${ruleWords(was, number)} → ${ruleWords(cap, number)}`,
      });
    }
    if (scopeWords(was.match) !== scopeWords(cap.match)) {
      changes.push({
        section: 'Caps',
        text: `“${cap.id}” applies to: ${scopeWords(was.match)} → ${scopeWords(cap.match)}`,
      });
    }
  }
  for (const cap of before) {
    if (!now.has(cap.id)) {
      changes.push({ section: 'Caps', text: `Removed “${cap.id}” (${ruleWords(cap, number)})` });
    }
  }
  const kept = (caps: Cap[], other: Map<string, Cap>) => caps.map((c) => c.id).filter((id) => other.has(id));
  if (changes.length === 0 && !same(kept(before, now), kept(after, old))) {
    changes.push({ section: 'Caps', text: 'Caps reordered' });
  }
  return changes;
}

function thresholdChanges(before: PolicyDocument, after: PolicyDocument, fmt: Numbers): Change[] {
  const number = (n: number) => fmt.decimal(n, 3);
  const changes: Change[] = [];
  const a = before.relevance ?? { default: 0 };
  const b = after.relevance ?? { default: 0 };
  const text = (value: number | undefined) => (value === undefined ? 'the default' : number(value));
  if (a.default !== b.default) {
    changes.push({
      section: 'Relevance',
      text: `Default threshold: ${number(a.default)} → ${number(b.default)}`,
    });
  }
  for (const channel of CHANNELS) {
    const x = a.byChannel?.[channel as Channel];
    const y = b.byChannel?.[channel as Channel];
    if (x !== y) {
      changes.push({
        section: 'Relevance',
        text: `${channelLabel(channel)} threshold: ${text(x)} → ${text(y)}`,
      });
    }
  }
  const categories = new Set([...Object.keys(a.byCategory ?? {}), ...Object.keys(b.byCategory ?? {})]);
  for (const category of [...categories].sort()) {
    const x = a.byCategory?.[category];
    const y = b.byCategory?.[category];
    if (x !== y) {
      changes.push({
        section: 'Relevance',
        text: `Category “${category}” threshold: ${text(x)} → ${text(y)}`,
      });
    }
  }
  if ((a.pressureSlope ?? 0) !== (b.pressureSlope ?? 0)) {
    changes.push({
      section: 'Relevance',
      text: `Pressure slope: ${number(a.pressureSlope ?? 0)} → ${number(b.pressureSlope ?? 0)}`,
    });
  }
  return changes;
}

function quietChanges(before: PolicyDocument, after: PolicyDocument): Change[] {
  if (same(before.quietHours, after.quietHours)) return [];
  if (!before.quietHours || !after.quietHours) {
    return [
      {
        section: 'Quiet hours',
        text: `Quiet hours: ${quietHoursWords(before.quietHours)} → ${quietHoursWords(after.quietHours)}`,
      },
    ];
  }
  const changes: Change[] = [];
  const a = before.quietHours;
  const b = after.quietHours;
  if (a.start !== b.start || a.end !== b.end) {
    changes.push({ section: 'Quiet hours', text: `Quiet hours: ${a.start}–${a.end} → ${b.start}–${b.end}` });
  }
  if ((a.defaultTimezone ?? 'UTC') !== (b.defaultTimezone ?? 'UTC')) {
    changes.push({
      section: 'Quiet hours',
      text: `Default time zone: ${orNone(a.defaultTimezone, 'UTC')} → ${orNone(b.defaultTimezone, 'UTC')}`,
    });
  }
  return changes;
}

function fatigueChanges(before: PolicyDocument, after: PolicyDocument, fmt: Numbers): Change[] {
  const a = before.fatigue;
  const b = after.fatigue;
  if (same(a, b)) return [];
  if (!a || !b) return [{ section: 'Fatigue', text: `Fatigue: ${a ? 'on' : 'off'} → ${b ? 'on' : 'off'}` }];
  const changes: Change[] = [];
  for (const key of Object.keys({ ...a, ...b }) as (keyof typeof a)[]) {
    if (a[key] !== b[key])
      changes.push({
        section: 'Fatigue',
        text: `${key}: ${a[key] === undefined ? 'default' : fmt.decimal(a[key], 2)} → ${b[key] === undefined ? 'default' : fmt.decimal(b[key], 2)}`,
      });
  }
  return changes;
}

function costChanges(before: PolicyDocument, after: PolicyDocument, fmt: Numbers): Change[] {
  const number = (n: number) => fmt.decimal(n, 6);
  const changes: Change[] = [];
  const a = before.channelCosts;
  const b = after.channelCosts;
  if (a.currency !== b.currency) {
    changes.push({ section: 'Channel costs', text: `Currency: ${a.currency} → ${b.currency}` });
  }
  for (const channel of CHANNELS) {
    if (a[channel] !== b[channel]) {
      changes.push({
        section: 'Channel costs',
        text: `${channelLabel(channel)}: ${number(a[channel])} → ${number(b[channel])} ${b.currency} a message`,
      });
    }
  }
  return changes;
}

export function describeChanges(
  before: PolicyDocument,
  after: PolicyDocument,
  fmt: Numbers = formatFor('en'),
): Change[] {
  return [
    ...capChanges(before.caps ?? [], after.caps ?? [], fmt.number),
    ...thresholdChanges(before, after, fmt),
    ...quietChanges(before, after),
    ...fatigueChanges(before, after, fmt),
    ...costChanges(before, after, fmt),
  ];
}
