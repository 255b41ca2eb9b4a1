/**
 * The business metrics of decisions, as CloudWatch EMF lines on stdout: one line per outcome and one per
 * suppression reason, each with its own dimension beside the service's and no other, request after
 * request (the process reuses one instance for them: it must not carry a dimension from one line over
 * to the next).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

interface EmfLine {
  _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] };
  [field: string]: unknown;
}

let lines: EmfLine[];

beforeEach(() => {
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
  vi.resetModules();
  lines = [];
  const write = process.stdout.write.bind(process.stdout);
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk, ...rest) => {
    const text = String(chunk);
    if (text.includes('"_aws"')) {
      for (const line of text.split('\n').filter(Boolean)) lines.push(JSON.parse(line) as EmfLine);
      return true;
    }
    return write(chunk, ...(rest as []));
  });
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

/** A line as [its dimensions, its fields but the EMF envelope and the timestamp]. */
const shapeOf = ({ _aws, ...fields }: EmfLine) => [_aws.CloudWatchMetrics[0]?.Dimensions, fields];

describe('countDecisions', () => {
  it('publishes one line per outcome and per reason, each with only its own dimension, request after request', async () => {
    // Prepare
    const { countDecisions } = await import('#shared/observability/index.ts');

    // Act: two requests, the second with another outcome and reason
    countDecisions([
      { outcome: 'accepted' },
      { outcome: 'suppressed', reason: 'frequency_cap' },
      { outcome: 'suppressed', reason: 'frequency_cap' },
    ]);
    countDecisions([{ outcome: 'suppressed', reason: 'opted_out' }]);

    // Assess
    expect(lines.map(shapeOf)).toEqual([
      [[['service', 'outcome']], { service: 'governor', outcome: 'accepted', Decisions: 1 }],
      [[['service', 'outcome']], { service: 'governor', outcome: 'suppressed', Decisions: 2 }],
      [[['service', 'reason']], { service: 'governor', reason: 'frequency_cap', Suppressed: 2 }],
      [[['service', 'outcome']], { service: 'governor', outcome: 'suppressed', Decisions: 1 }],
      [[['service', 'reason']], { service: 'governor', reason: 'opted_out', Suppressed: 1 }],
    ]);
    expect(lines.every((l) => l._aws.CloudWatchMetrics[0]?.Namespace === 'Governor')).toBe(true);
  });

  it('publishes the archive records lost with the service dimension alone', async () => {
    // Prepare: a decision's line first, whose dimension must not carry over
    const { countArchiveLost, countDecisions } = await import('#shared/observability/index.ts');
    countDecisions([{ outcome: 'accepted' }]);

    // Act
    countArchiveLost(3);

    // Assess
    expect(lines.map(shapeOf).at(-1)).toEqual([
      [['service']],
      { service: 'governor', ArchiveRecordsLost: 3 },
    ]);
  });
});
