/**
 * Holdout experiments: which arm of the policy's experiments a customer is in, and the policy that arm
 * decides under. Pure: the assignment number comes in (the application derives it from a keyed hash of
 * the customer id and the experiment's salt, so it is the same in every process and for every replay),
 * and so does time.
 *
 * The arm is never stored in the customer's log: it is a function of the customer, the policy version
 * and the decision's time, so every reader of the log (a concurrent writer, reconciliation, a retry)
 * finds the same arm for the same decision, and a decision costs no extra byte or write.
 */
import { type ArmOf, type AssignedArm, armAt, type CompiledPolicy, compilePolicy } from './decision.ts';
import type { Experiment, ExperimentArm, Policy } from './schemas.ts';

export type { ArmOf, AssignedArm };
export { armAt };

/** A customer's assignment number in [0, 1) for an experiment. */
export type Assignment = (experiment: Experiment) => number;

/** The number in [0, 1) that the first 8 base64url characters (48 bits) of a hash spell. */
export function assignmentNumber(hash: string): number {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  let n = 0;
  for (let i = 0; i < 8; i++) n = n * 64 + Math.max(0, alphabet.indexOf(hash[i] ?? 'A'));
  return n / 64 ** 8;
}

/** The arm of an experiment an assignment number falls in: the arms share [0, 1) in their order. */
export function armFor(experiment: Experiment, u: number): ExperimentArm {
  let upTo = 0;
  for (const arm of experiment.arms) {
    upTo += arm.share;
    if (u < upTo) return arm;
  }
  return experiment.arms[experiment.arms.length - 1] as ExperimentArm;
}

/**
 * The policy an arm decides under: `current` the policy itself; `control` no caps, no relevance
 * threshold and no fatigue (the customer's preferences, hard suppressions and quiet hours still hold:
 * they are the customer's word and the law, not pressure Governor adds); otherwise its caps instead of
 * the policy's.
 */
export function armPolicy(policy: Policy, arm: ExperimentArm): Policy {
  if (arm.policy === 'current') return policy;
  const { fatigue: _fatigue, experiments: _experiments, ...rest } = policy;
  if (arm.policy === 'control') return { ...rest, caps: [], relevance: { default: 0, pressureSlope: 0 } };
  const { experiments: _e, ...withFatigue } = policy;
  return { ...withFatigue, caps: arm.policy.caps };
}

const armPolicies = new WeakMap<CompiledPolicy, Map<string, CompiledPolicy>>();

/** An arm's policy compiled, once per policy object and arm. */
function compiledArm(c: CompiledPolicy, experiment: Experiment, arm: ExperimentArm): CompiledPolicy {
  let byArm = armPolicies.get(c);
  if (!byArm) {
    byArm = new Map();
    armPolicies.set(c, byArm);
  }
  const key = `${experiment.id}\0${arm.id}`;
  let compiled = byArm.get(key);
  if (!compiled) {
    compiled = arm.policy === 'current' ? c : compilePolicy(armPolicy(c.policy, arm));
    byArm.set(key, compiled);
  }
  return compiled;
}

const timeOf = (t: string | undefined, otherwise: number) => (t === undefined ? otherwise : Date.parse(t));

/** The policy as one customer meets it: with the arm it is in for each of the policy's experiments. */
export function forCustomer(c: CompiledPolicy, assignment: Assignment): CompiledPolicy {
  const experiments = c.policy.experiments;
  if (!experiments || experiments.length === 0) return c;
  const arms: AssignedArm[] = experiments.map((experiment) => {
    const arm = armFor(experiment, assignment(experiment));
    return {
      id: experiment.id,
      arm: arm.id,
      from: timeOf(experiment.from, Number.NEGATIVE_INFINITY),
      to: timeOf(experiment.to, Number.POSITIVE_INFINITY),
      compiled: compiledArm(c, experiment, arm),
    };
  });
  return { ...c, arms };
}

/** The experiment and arm of a decision at `t` (undefined: none). */
export function armOf(c: CompiledPolicy, t: number): ArmOf | undefined {
  const arm = armAt(c, t);
  return arm && { id: arm.id, arm: arm.arm };
}

/** Every arm's policy of a policy's experiments (what compaction must keep sends for). */
export function armVariants(c: CompiledPolicy): CompiledPolicy[] {
  const out: CompiledPolicy[] = [];
  for (const experiment of c.policy.experiments ?? [])
    for (const arm of experiment.arms) out.push(compiledArm(c, experiment, arm));
  return out;
}
