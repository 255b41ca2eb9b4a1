/**
 * Holdout experiments in the decision archive, on dynalite and the local files: each decision's record
 * names its experiment and arm, so that the dry-run, replaying the archive through the real engine,
 * decides each customer under its arm's policy (the current policy replays to what was decided).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalArchiveReader } from '#shared/adapters/archive/local.ts';
import { type SendDeps, sendMessages } from '#shared/app/send.ts';
import type { Root } from '#shared/composition.ts';
import type { ArchiveRecord } from '#shared/domain/archive.ts';
import { replayShard } from '#shared/domain/dry-run.ts';
import { messageSchema, type Policy } from '#shared/domain/schemas.ts';
import { type EnginesFixture, startEnginesFixture } from '../support/engines-fixture.ts';

const MINUTE = 60_000;
const T0 = Date.parse('2026-03-02T09:00:00.000Z');
let fixture: EnginesFixture;
let archiveDir: string;
let now = T0;
let root: Root;
let policy: Policy;

beforeAll(async () => {
  fixture = await startEnginesFixture({
    name: 'archive-experiments',
    clock: { now: () => now },
    env: (dataDir) => ({ GOVERNOR_ARCHIVE_DIR: join(dataDir, 'archive') }),
    policy: {
      caps: [{ id: 'daily', limit: 1, window: 'P1D' }],
      channelCosts: { email: 0.001, sms: 0.05, push: 0.0005, whatsapp: 0.04, currency: 'EUR' },
      experiments: [
        {
          id: 'lift',
          salt: 'archive',
          arms: [
            { id: 'holdout', share: 0.5, policy: 'control' },
            { id: 'governed', share: 0.5, policy: 'current' },
          ],
        },
      ],
    },
  });
  archiveDir = join(fixture.dataDir, 'archive');
  root = fixture.root;
  policy = fixture.policy as Policy;
});

afterAll(() => fixture?.stop());

describe('experiments in the archive', () => {
  it('records the arm of each decision, and replays each customer under its arm', async () => {
    // Prepare: three messages to each of 20 customers, a daily cap of 1 for the governed arm
    const deps: SendDeps = { ...root, counter: undefined };
    const decided = { accepted: 0, suppressed: 0 };
    const arms = new Set<string>();
    for (let c = 0; c < 20; c++)
      for (let m = 0; m < 3; m++) {
        now += MINUTE;
        const [answer] = await sendMessages(deps, [
          messageSchema.parse({
            messageId: `m-${c}-${m}`,
            customerId: `arch-exp-${c}`,
            channel: 'email',
            payload: {},
          }),
        ]);
        if (!answer || !('decision' in answer) || answer.decision === 'deferred')
          throw new Error('no decision');
        decided[answer.decision]++;
        if (answer.experiment) arms.add(answer.experiment.arm);
      }
    await root.archive?.drain();
    expect(arms).toEqual(new Set(['holdout', 'governed']));

    // Act: the archive, replayed as the dry-run does
    const reader = new LocalArchiveReader(archiveDir);
    const records: ArchiveRecord[] = [];
    for (const shard of await reader.shards(now + 86_400_000)) records.push(...(await reader.read(shard)));
    const result = replayShard(records, { from: T0, to: now + MINUTE, policies: [policy], draft: policy });

    // Assess
    const decisions = records.filter((r) => r.type === 'decision');
    expect(decisions).toHaveLength(60);
    expect(decisions.every((r) => r.type === 'decision' && r.experiment?.id === 'lift')).toBe(true);
    expect(result.current).toMatchObject(decided);
    expect(result.draft).toEqual(result.current);
  });
});
