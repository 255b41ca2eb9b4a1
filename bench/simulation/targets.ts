/**
 * The targets the governor with fatigue is to meet (issue 17), on a seed not used for tuning, in the
 * same run as the strategies it is compared with: customers over their wished frequency under 5% (all,
 * and separately those who stated their wish and those who did not), clicks at least 95% of no
 * governor's, unsubscribes at most 50% of no governor's, and more clicks and fewer unsubscribes than
 * the fixed threshold at matched volume.
 */
import type { StrategyFigures } from './metrics.ts';

export interface Target {
  id: string;
  label: string;
  /** The measured value, and the goal it is compared with (both shares, 0–1). */
  value: number;
  goal: number;
  /** Whether the value must be below the goal (`<`, `≤`) or above it (`≥`, `>`). */
  comparison: '<' | '≤' | '≥' | '>';
  met: boolean;
}

type Figures = Pick<
  StrategyFigures,
  'overWishedShare' | 'overWishedShareStated' | 'overWishedShareUnstated' | 'clicks' | 'unsubscribes'
>;

export interface TargetInputs {
  noGovernor: Figures;
  fixedThreshold: Figures;
  candidate: Figures;
}

const ratio = (a: number, b: number) => (b === 0 ? (a === 0 ? 1 : Number.POSITIVE_INFINITY) : a / b);

function target(
  id: string,
  label: string,
  value: number,
  comparison: Target['comparison'],
  goal: number,
): Target {
  const met =
    comparison === '<'
      ? value < goal
      : comparison === '≤'
        ? value <= goal
        : comparison === '≥'
          ? value >= goal
          : value > goal;
  return { id, label, value, goal, comparison, met };
}

export function targets({ noGovernor, fixedThreshold, candidate: c }: TargetInputs): Target[] {
  return [
    target('overWish', 'customers over their wish', c.overWishedShare, '<', 0.05),
    target('overWishStated', 'of those who stated it', c.overWishedShareStated, '<', 0.05),
    target('overWishUnstated', 'of those who did not', c.overWishedShareUnstated, '<', 0.05),
    target('clicks', "clicks, of no governor's", ratio(c.clicks, noGovernor.clicks), '≥', 0.95),
    target(
      'unsubscribes',
      "unsubscribes, of no governor's",
      ratio(c.unsubscribes, noGovernor.unsubscribes),
      '≤',
      0.5,
    ),
    target(
      'clicksVsFixed',
      "clicks, of the fixed threshold's",
      ratio(c.clicks, fixedThreshold.clicks),
      '>',
      1,
    ),
    target(
      'unsubscribesVsFixed',
      "unsubscribes, of the fixed threshold's",
      ratio(c.unsubscribes, fixedThreshold.unsubscribes),
      '<',
      1,
    ),
  ];
}

/** How far a missed target is from its goal, in percentage points of the share compared. */
export function gapPoints(t: Target): number {
  return t.met ? 0 : Math.abs(t.value - t.goal) * 100;
}
