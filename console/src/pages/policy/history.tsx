/**
 * The policy's versions with their author and time, the differences between any two of them, and
 * restoring one: it is loaded into the editor as a draft, to review (and, once it exists, preview) before
 * it is saved as a new version.
 */
import { useEffect, useState } from 'preact/hooks';
import type { PolicyDocument, StoredPolicy, VersionSummary } from '../../api/types.ts';
import { SelectField } from '../../components/fields.tsx';
import { Card, ErrorNotice, Loading, useLoad } from '../../components/ui.tsx';
import { useConsole } from '../../context.ts';
import { authorLabel } from '../../labels.ts';
import { describeChanges } from '../../policy/diff.ts';
import { ChangeList } from './changes.tsx';

export const documentOf = ({
  version: _v,
  createdAt: _c,
  author: _a,
  ...document
}: StoredPolicy): PolicyDocument => document as PolicyDocument;

export function History({
  versions,
  current,
  authors,
  readOnly,
  onRestore,
}: {
  versions: VersionSummary[];
  current: number;
  authors: ReadonlyMap<string, string>;
  readOnly: boolean;
  onRestore: (policy: StoredPolicy) => void;
}) {
  const { api, format } = useConsole();
  const sorted = [...versions].sort((a, b) => b.version - a.version);
  const [from, setFrom] = useState(String(sorted[1]?.version ?? sorted[0]?.version ?? 0));
  const [to, setTo] = useState(String(sorted[0]?.version ?? 0));
  // A new version saved: compare it with the one before.
  useEffect(() => {
    setTo(String(sorted[0]?.version ?? 0));
    setFrom(String(sorted[1]?.version ?? sorted[0]?.version ?? 0));
  }, [sorted[0]?.version]);

  const load = (version: string) => async () =>
    (await api.call('get', '/v1/policy/versions/{version}', { path: { version } })).data;
  const a = useLoad(load(from), [from]);
  const b = useLoad(load(to), [to]);
  const options = sorted.map((v) => [String(v.version), `Version ${v.version}`] as const);

  return (
    <Card title="History" id="history">
      <table class="data">
        <caption class="visually-hidden">Policy versions</caption>
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">Saved</th>
            <th scope="col">By</th>
            <th scope="col">
              <span class="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {sorted.map((v, i) => (
            <tr key={v.version}>
              <th scope="row">
                {v.version} {v.version === current ? <span class="badge badge-good">in force</span> : null}
              </th>
              <td>{v.version === 0 ? 'at install' : format.dateTime(v.createdAt)}</td>
              <td>{authorLabel(v.author, authors)}</td>
              <td class="actions">
                {sorted[i + 1] ? (
                  <button
                    type="button"
                    class="button button-small"
                    aria-label={`What changed in version ${v.version}`}
                    onClick={() => {
                      setFrom(String(sorted[i + 1]?.version));
                      setTo(String(v.version));
                    }}
                  >
                    What changed
                  </button>
                ) : null}
                {!readOnly && v.version !== current ? (
                  <button
                    type="button"
                    class="button button-small"
                    aria-label={`Restore version ${v.version}`}
                    onClick={async () => onRestore(await load(String(v.version))())}
                  >
                    Restore
                  </button>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>

      <section class="compare" aria-labelledby="compare-title">
        <h3 id="compare-title">Compare two versions</h3>
        <div class="row">
          <SelectField
            id="compare-from"
            label="From version"
            value={from}
            onChange={setFrom}
            options={options}
            inline
          />
          <SelectField
            id="compare-to"
            label="To version"
            value={to}
            onChange={setTo}
            options={options}
            inline
          />
        </div>
        <div aria-live="polite">
          {a.state === 'error' ? (
            <ErrorNotice error={a.error} />
          ) : b.state === 'error' ? (
            <ErrorNotice error={b.error} />
          ) : a.state !== 'done' || b.state !== 'done' ? (
            <Loading what="the two versions" />
          ) : (
            <ChangeList
              id="version-diff"
              changes={describeChanges(documentOf(a.data), documentOf(b.data), format)}
              empty={from === to ? 'Choose two different versions.' : 'The two versions are the same.'}
            />
          )}
        </div>
      </section>
    </Card>
  );
}
