/** A list of policy changes, grouped by section. */
import type { Change } from '../../policy/diff.ts';

export function ChangeList({ id, changes, empty }: { id: string; changes: Change[]; empty: string }) {
  if (changes.length === 0) return <p class="muted">{empty}</p>;
  const sections = [...new Set(changes.map((c) => c.section))];
  return (
    <div class="changes" id={id}>
      {sections.map((section) => (
        <div key={section}>
          <h4>{section}</h4>
          <ul>
            {changes
              .filter((c) => c.section === section)
              .map((c) => (
                <li key={c.text}>{c.text}</li>
              ))}
          </ul>
        </div>
      ))}
    </div>
  );
}
