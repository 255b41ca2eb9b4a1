import { describe, expect, it } from 'vitest';
import { renderChart } from '../../bench/simulation/chart.ts';
import { simulate } from '../../bench/simulation/simulation.ts';

const small = { seed: 7, customers: 150, days: 14 };

describe('simulate', () => {
  it('gives the same figures for the same seed', () => {
    // Prepare / Act
    const first = simulate(small);
    const second = simulate(small);

    // Assess
    expect(second).toEqual(first);
    expect(renderChart(second)).toBe(renderChart(first));
  });

  it('gives other figures for another seed', () => {
    expect(simulate({ ...small, seed: 8 }).messages).not.toBe(simulate(small).messages);
  });

  it('delivers more relevant messages with the governor than first come, first served', () => {
    const report = simulate(small);

    const { governor, fcfs } = report.strategies;
    expect(governor.delivered).toBeGreaterThan(0);
    expect(governor.meanRelevance).toBeGreaterThan(fcfs.meanRelevance * 1.1);
  });

  it('keeps every capped strategy within the caps and out of quiet hours', () => {
    const report = simulate(small);

    expect(report.strategies.before.overCapShare).toBeGreaterThan(0.5);
    for (const id of ['fcfs', 'governor', 'optimum', 'optimumAtGovernorVolume'] as const) {
      expect(report.strategies[id].overCapShare, id).toBe(0);
      expect(report.strategies[id].nightShare, id).toBe(0);
    }
  });

  it('never lets the greedy optimum fall below first come, first served in total relevance', () => {
    const { optimum, fcfs } = simulate(small).strategies;

    expect(optimum.relevanceSum).toBeGreaterThanOrEqual(fcfs.relevanceSum);
  });
});
