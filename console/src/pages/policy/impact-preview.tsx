/**
 * THE IMPACT PREVIEW'S PLACE. The dry-run API (POST /v1/policy/dry-runs, issue 15) will replay the last
 * 7 or 30 days of traffic with the current policy and with this draft; this component is where the
 * console shows the two side by side before the marketer saves. It receives what it will need: the draft
 * and the version it was edited from. Until the API exists it says what is coming.
 */
import type { PolicyDocument, StoredPolicy } from '../../api/types.ts';
import { Card } from '../../components/ui.tsx';

export interface ImpactPreviewProps {
  draft: PolicyDocument;
  current: StoredPolicy;
  /** Whether the draft differs from the version in force. */
  changed: boolean;
}

export function ImpactPreview(_props: ImpactPreviewProps) {
  return (
    <Card title="Impact preview" id="impact-preview" className="card-placeholder">
      <p>
        <span class="badge">Coming next</span> Before saving, this panel will replay the last 7 or 30 days of
        real traffic with your draft and show, beside what actually happened: messages delivered, deferred and
        suppressed by reason, the avoided cost, and messages per customer per week.
      </p>
    </Card>
  );
}
