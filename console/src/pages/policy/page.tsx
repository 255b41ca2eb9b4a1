/**
 * Policy (marketers): the version in force as an editable draft — caps, relevance, quiet hours, channel
 * costs — saved as a new version with the ETag it was read with. The API judges the draft: its field
 * errors come back next to the fields. When someone saved meanwhile (412), the page shows what they
 * changed and re-applies the marketer's own changes on top of their version. History, diff and restore
 * below.
 */
import { useMemo, useState } from 'preact/hooks';
import { ApiError, type FieldProblem } from '../../api/client.ts';
import type { Channel, PolicyDocument, StoredPolicy } from '../../api/types.ts';
import { FieldErrors } from '../../components/fields.tsx';
import { ErrorNotice, Loading, Notice, problemText, useLoad } from '../../components/ui.tsx';
import { useConsole } from '../../context.ts';
import { authorLabel, CHANNEL_LABELS } from '../../labels.ts';
import { describeChanges } from '../../policy/diff.ts';
import { type Conflict, reapply, settingWords } from '../../policy/merge.ts';
import { ChangeList } from './changes.tsx';
import { documentOf, History } from './history.tsx';
import { ImpactPreview } from './impact-preview.tsx';
import {
  CapsSection,
  CostsSection,
  FatigueSection,
  QuietHoursSection,
  RelevanceSection,
} from './sections.tsx';

interface Loaded {
  policy: StoredPolicy;
  etag: string;
}

type Outcome =
  | { kind: 'saved'; version: number }
  | { kind: 'invalid'; errors: FieldProblem[]; detail: string }
  | { kind: 'stale'; latest: Loaded }
  | { kind: 'reapplied'; over: number; conflicts: Conflict[] }
  | { kind: 'restored'; version: number }
  | { kind: 'failed'; error: unknown };

export function PolicyPage() {
  const { api, can } = useConsole();
  const current = useLoad(async (): Promise<Loaded> => {
    const { data, headers } = await api.call('get', '/v1/policy');
    return { policy: data, etag: headers.get('etag') ?? `"${data.version}"` };
  }, []);
  if (current.state === 'error' && !current.data)
    return <ErrorNotice error={current.error} retry={current.reload} />;
  if (!current.data) return <Loading what="the policy" />;
  return <Editor initial={current.data} readOnly={!can('policy:write')} />;
}

function Editor({ initial, readOnly }: { initial: Loaded; readOnly: boolean }) {
  const { api, can, format } = useConsole();
  const [base, setBase] = useState(initial);
  const [draft, setDraft] = useState<PolicyDocument>(() => documentOf(initial.policy));
  const [outcome, setOutcome] = useState<Outcome | undefined>();
  const [saving, setSaving] = useState(false);
  const [historyRound, setHistoryRound] = useState(0);

  const baseDocument = useMemo(() => documentOf(base.policy), [base]);
  const changes = useMemo(() => describeChanges(baseDocument, draft, format), [baseDocument, draft, format]);
  // The API's field errors: of the last save, else of the last preview of the draft.
  const [previewErrors, setPreviewErrors] = useState<FieldProblem[]>([]);
  const errors = outcome?.kind === 'invalid' ? outcome.errors : previewErrors;

  const versions = useLoad(
    async () => (await api.call('get', '/v1/policy/versions')).data.versions,
    [historyRound],
  );
  const authors = useLoad(async () => {
    if (!can('admin')) return new Map<string, string>();
    const { data } = await api.call('get', '/v1/keys');
    return new Map((data.keys ?? []).map((k) => [k.id, k.name]));
  }, [historyRound]);

  const edit = (change: (d: PolicyDocument) => PolicyDocument) => {
    setDraft((d) => change(d));
    if (outcome?.kind === 'saved' || outcome?.kind === 'restored') setOutcome(undefined);
  };

  const reload = async (): Promise<Loaded> => {
    const { data, headers } = await api.call('get', '/v1/policy');
    return { policy: data, etag: headers.get('etag') ?? `"${data.version}"` };
  };

  const save = async () => {
    setSaving(true);
    try {
      const { data, headers } = await api.call('put', '/v1/policy', {
        body: draft,
        headers: { 'if-match': base.etag },
      });
      const saved = { policy: data, etag: headers.get('etag') ?? `"${data.version}"` };
      setBase(saved);
      setDraft(documentOf(data));
      setOutcome({ kind: 'saved', version: data.version });
      setHistoryRound((r) => r + 1);
    } catch (error) {
      if (error instanceof ApiError && error.status === 412) {
        setOutcome({ kind: 'stale', latest: await reload() });
        setHistoryRound((r) => r + 1);
      } else if (error instanceof ApiError && error.status === 400) {
        setOutcome({
          kind: 'invalid',
          errors: error.problem.errors ?? [],
          detail: error.problem.detail ?? 'the policy is not valid',
        });
      } else {
        setOutcome({ kind: 'failed', error });
      }
    } finally {
      setSaving(false);
    }
  };

  const reapplyOn = (latest: Loaded) => {
    const merged = reapply(baseDocument, draft, documentOf(latest.policy));
    setBase(latest);
    setDraft(merged.document);
    setOutcome({ kind: 'reapplied', over: latest.policy.version, conflicts: merged.conflicts });
    setHistoryRound((r) => r + 1);
  };

  const discard = (to: Loaded = base) => {
    setBase(to);
    setDraft(documentOf(to.policy));
    setOutcome(undefined);
    setHistoryRound((r) => r + 1);
  };

  const restore = (policy: StoredPolicy) => {
    setDraft(documentOf(policy));
    setOutcome({ kind: 'restored', version: policy.version });
    window.scrollTo({ top: 0 });
  };

  const sections = { draft, edit, readOnly };
  return (
    <FieldErrors.Provider value={errors}>
      <div class="page page-policy">
        <header class="page-header">
          <div>
            <h1>Policy</h1>
            <p class="muted">
              {outcome?.kind === 'stale'
                ? `Version ${outcome.latest.policy.version} is in force, saved meanwhile; your draft is based on version ${base.policy.version}.`
                : `Version ${base.policy.version} is in force${
                    base.policy.version === 0
                      ? ' (the built-in default)'
                      : `, saved ${format.dateTime(base.policy.createdAt)} by ${authorLabel(base.policy.author, authors.data)}`
                  }. ${readOnly ? '' : 'Edit the draft below, then save it as a new version.'}`}
            </p>
          </div>
        </header>
        {readOnly ? (
          <Notice tone="info" title="Read only">
            This key can read the policy but not change it: that needs the scope <code>policy:write</code>.
          </Notice>
        ) : null}
        <OutcomeNotice
          outcome={outcome}
          base={base}
          draft={draft}
          onReapply={reapplyOn}
          onDiscard={discard}
        />

        {readOnly ? null : (
          <section class="savebar" aria-label="Save">
            <div class="savebar-text">
              {changes.length === 0 ? (
                <span>No unsaved changes.</span>
              ) : (
                <details>
                  <summary>
                    {changes.length} unsaved {changes.length === 1 ? 'change' : 'changes'} to version{' '}
                    {base.policy.version}
                  </summary>
                  <ChangeList id="draft-changes" changes={changes} empty="" />
                </details>
              )}
            </div>
            <div class="savebar-actions">
              <button
                type="button"
                class="button"
                disabled={changes.length === 0 || saving}
                onClick={() => discard(outcome?.kind === 'stale' ? outcome.latest : base)}
              >
                Discard changes
              </button>
              <button
                type="button"
                class="button button-primary"
                disabled={changes.length === 0 || saving || outcome?.kind === 'stale'}
                onClick={() => void save()}
              >
                {saving ? 'Saving…' : `Save as version ${base.policy.version + 1}`}
              </button>
            </div>
          </section>
        )}

        <CapsSection {...sections} />
        <RelevanceSection {...sections} />
        <QuietHoursSection {...sections} />
        <FatigueSection {...sections} />
        <CostsSection {...sections} />
        <ImpactPreview
          draft={draft}
          current={base.policy}
          changed={changes.length > 0}
          onInvalid={setPreviewErrors}
        />

        {versions.state === 'error' ? (
          <ErrorNotice error={versions.error} retry={versions.reload} />
        ) : versions.data ? (
          <History
            versions={versions.data}
            current={outcome?.kind === 'stale' ? outcome.latest.policy.version : base.policy.version}
            authors={authors.data ?? new Map()}
            readOnly={readOnly}
            onRestore={restore}
          />
        ) : (
          <Loading what="the history" />
        )}
      </div>
    </FieldErrors.Provider>
  );
}

const valueWords = (value: unknown) => (value === undefined ? 'none' : String(value));

const FIELD_WORDS: Record<string, string> = {
  id: 'name',
  limit: 'at most',
  window: 'window',
  minGap: 'minimum gap',
  'match.kind': 'kind',
  'match.channel': 'channel',
  'match.category': 'category',
  'match.campaignId': 'campaign',
  'relevance.default': 'Default threshold',
  'relevance.pressureSlope': 'Pressure slope',
  'quietHours.start': 'Quiet hours from',
  'quietHours.end': 'Quiet hours until',
  'quietHours.defaultTimezone': 'Default time zone',
  'channelCosts.currency': 'Currency',
  caps: 'Caps',
};

/** An API error's path in the words of the page: `caps.1.limit` → "Cap “sms-weekly”, at most". */
export function pathWords(path: string, draft: PolicyDocument): string {
  const cap = /^caps\.(\d+)\.(.+)$/.exec(path);
  if (cap) {
    const name = draft.caps?.[Number(cap[1])]?.id ?? `number ${Number(cap[1]) + 1}`;
    return `Cap “${name}”, ${FIELD_WORDS[cap[2] ?? ''] ?? cap[2]}`;
  }
  const channel = /^(relevance\.byChannel|channelCosts)\.(\w+)$/.exec(path);
  if (channel) {
    const label = CHANNEL_LABELS[channel[2] as Channel] ?? channel[2];
    return channel[1] === 'channelCosts' ? `${label} cost` : `${label} threshold`;
  }
  const category = /^relevance\.byCategory\.(.*)$/.exec(path);
  if (category) return `Threshold of the category “${category[1]}”`;
  return FIELD_WORDS[path] ?? path.replaceAll('.', ' › ');
}

function OutcomeNotice({
  outcome,
  base,
  draft,
  onReapply,
  onDiscard,
}: {
  outcome: Outcome | undefined;
  base: Loaded;
  draft: PolicyDocument;
  onReapply: (latest: Loaded) => void;
  onDiscard: (to: Loaded) => void;
}) {
  const { format } = useConsole();
  if (!outcome) return null;
  switch (outcome.kind) {
    case 'saved':
      return (
        <Notice tone="success" title={`Saved: version ${outcome.version} is in force`}>
          The next decisions follow it (within a second on every instance).
        </Notice>
      );
    case 'restored':
      return (
        <Notice tone="info" title={`Version ${outcome.version} is loaded as a draft`}>
          Review the unsaved changes below, then save to make it version {base.policy.version + 1}.
        </Notice>
      );
    case 'invalid':
      return (
        <Notice tone="error" title="Not saved: the policy is not valid">
          <p>
            {outcome.errors.length > 0
              ? `${outcome.errors.length} ${outcome.errors.length === 1 ? 'problem is' : 'problems are'} shown next to ${outcome.errors.length === 1 ? 'its field' : 'their fields'}:`
              : outcome.detail}
          </p>
          <ul>
            {outcome.errors.map((e) => (
              <li key={`${e.path}:${e.message}`}>
                {pathWords(e.path, draft)}: {e.message}
              </li>
            ))}
          </ul>
        </Notice>
      );
    case 'failed':
      return (
        <Notice tone="error" title="Not saved">
          {problemText(outcome.error)}
        </Notice>
      );
    case 'reapplied':
      return (
        <Notice tone="info" title={`Your changes are re-applied on version ${outcome.over}`}>
          <p>Review them below, then save.</p>
          {outcome.conflicts.length > 0 ? (
            <>
              <p>You both changed these settings; your value is kept:</p>
              <ul>
                {outcome.conflicts.map((c) => (
                  <li key={c.setting}>
                    {settingWords(c.setting)}: yours {valueWords(c.mine)}, theirs {valueWords(c.theirs)}
                  </li>
                ))}
              </ul>
            </>
          ) : null}
        </Notice>
      );
    case 'stale': {
      const latest = outcome.latest.policy;
      const baseDocument = documentOf(base.policy);
      return (
        <section class="notice notice-warn conflict" role="alert" aria-labelledby="conflict-title">
          <h2 id="conflict-title">Someone saved version {latest.version} while you were editing</h2>
          <p>
            Your draft started from version {base.policy.version}. Version {latest.version} was saved{' '}
            {format.dateTime(latest.createdAt)} by {authorLabel(latest.author)}. Nothing of yours is lost.
          </p>
          <div class="grid grid-2">
            <div>
              <h3>What changed in version {latest.version}</h3>
              <ChangeList
                id="their-changes"
                changes={describeChanges(baseDocument, documentOf(latest), format)}
                empty="Nothing you can see: only its author or time differ."
              />
            </div>
            <div>
              <h3>Your changes</h3>
              <ChangeList
                id="my-changes"
                changes={describeChanges(baseDocument, draft, format)}
                empty="None."
              />
            </div>
          </div>
          <div class="notice-actions">
            <button type="button" class="button button-primary" onClick={() => onReapply(outcome.latest)}>
              Re-apply my changes on version {latest.version}
            </button>
            <button type="button" class="button" onClick={() => onDiscard(outcome.latest)}>
              Discard mine and load version {latest.version}
            </button>
          </div>
        </section>
      );
    }
  }
}
