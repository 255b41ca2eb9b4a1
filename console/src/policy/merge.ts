/**
 * Re-applying a marketer's edit on top of a version someone else saved meanwhile (the 412 flow): every
 * setting the marketer changed from the version they started from takes their value in the newer
 * version; everything else stays as the newer version has it. Caps are matched by id, so two people
 * editing different caps (or different fields of one cap) both keep their change. A setting both changed
 * differently is reported as a conflict, the marketer's value kept, for them to review before saving.
 */
import type { Cap, PolicyDocument } from '../api/types.ts';

type Leaves = Map<string, unknown>;

const CAP = 'caps:';

/** The document as setting → value: `caps:marketing-weekly.limit` → 3, `relevance.byChannel.sms` → 0.5. */
export function flatten(document: PolicyDocument): Leaves {
  const leaves: Leaves = new Map();
  const walk = (value: unknown, path: string) => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [key, inner] of Object.entries(value)) walk(inner, path === '' ? key : `${path}.${key}`);
    } else if (value !== undefined) {
      leaves.set(path, value);
    }
  };
  const { caps = [], ...rest } = document;
  walk(rest, '');
  for (const cap of caps) walk(cap, `${CAP}${cap.id}`);
  return leaves;
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (next === null || typeof next !== 'object') node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1] as string] = value;
}

/** Back from settings to a document; caps in `order` first, then any other cap in the order met. */
export function unflatten(leaves: Leaves, order: readonly string[]): PolicyDocument {
  const document: Record<string, unknown> = {};
  const caps = new Map<string, Record<string, unknown>>();
  for (const [path, value] of leaves) {
    if (path.startsWith(CAP)) {
      const rest = path.slice(CAP.length);
      // Cap ids hold no dot (letters, digits, _ . : -) … except that they may: split on the field names.
      const match = /^(.*)\.(id|limit|window|minGap|match\.(?:kind|channel|category|campaignId))$/.exec(rest);
      if (!match) continue;
      const [, id = '', field = ''] = match;
      const cap = caps.get(id) ?? {};
      setPath(cap, field.split('.'), value);
      caps.set(id, cap);
    } else {
      setPath(document, path.split('.'), value);
    }
  }
  const ids = [...new Set([...order.filter((id) => caps.has(id)), ...caps.keys()])];
  document.caps = ids.map((id) => ({ match: {}, ...caps.get(id), id }) as Cap);
  return document as PolicyDocument;
}

export interface Conflict {
  /** The setting, as `flatten` names it. */
  setting: string;
  mine: unknown;
  theirs: unknown;
}

export interface Reapplied {
  document: PolicyDocument;
  conflicts: Conflict[];
}

/** `mine` was edited from `base`; `theirs` was saved from `base` meanwhile. */
export function reapply(base: PolicyDocument, mine: PolicyDocument, theirs: PolicyDocument): Reapplied {
  const b = flatten(base);
  const m = flatten(mine);
  const t = flatten(theirs);
  const result = new Map(t);
  const conflicts: Conflict[] = [];
  const settings = new Set([...b.keys(), ...m.keys()]);
  for (const setting of settings) {
    const was = b.get(setting);
    const now = m.get(setting);
    if (Object.is(was, now)) continue;
    const other = t.get(setting);
    if (!Object.is(was, other) && !Object.is(now, other))
      conflicts.push({ setting, mine: now, theirs: other });
    if (now === undefined) result.delete(setting);
    else result.set(setting, now);
  }
  // A cap the marketer removed is gone, even if someone else edited it meanwhile (reported above).
  const removed = (base.caps ?? []).filter((cap) => !(mine.caps ?? []).some((c) => c.id === cap.id));
  for (const cap of removed) {
    for (const setting of [...result.keys()])
      if (setting.startsWith(`${CAP}${cap.id}.`)) result.delete(setting);
  }
  // A cap the marketer edited but someone else removed comes back whole, as the marketer left it.
  const theirIds = new Set((theirs.caps ?? []).map((cap) => cap.id));
  for (const cap of mine.caps ?? []) {
    const prefix = `${CAP}${cap.id}.`;
    if (theirIds.has(cap.id) || !conflicts.some((c) => c.setting.startsWith(prefix))) continue;
    for (const [setting, value] of m) if (setting.startsWith(prefix)) result.set(setting, value);
  }
  const order = [...(theirs.caps ?? []).map((cap) => cap.id), ...(mine.caps ?? []).map((cap) => cap.id)];
  return { document: unflatten(result, order), conflicts };
}

/** A setting in words: `caps:weekly.limit` → "cap “weekly”: limit". */
export function settingWords(setting: string): string {
  if (setting.startsWith(CAP)) {
    const match = /^(.*)\.(id|limit|window|minGap|match\.(?:kind|channel|category|campaignId))$/.exec(
      setting.slice(CAP.length),
    );
    if (match) return `cap “${match[1]}”: ${match[2]?.replace('match.', 'applies to ')}`;
  }
  return setting.replaceAll('.', ' › ');
}
