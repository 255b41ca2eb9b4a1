/**
 * Governor's decision path in this process (`sendMessages` on the real adapters), wired as the send
 * handler wires it (SQS queue, deferred store, decision counter); on request with counting off, with a
 * no-op queue and no counter, or the customer-item append alone.
 */
import type { SendDeps } from '#shared/app/send.ts';
import type { Message, Policy } from '#shared/domain/schemas.ts';
import { GovernorError } from '#shared/errors.ts';
import type { PolicyStore } from '#shared/ports.ts';
import { BENCH_POLICY, ENGAGED_POLICY, parsePolicy } from '../lib/workload.ts';
import type { Bench, LineSpec } from './bench.ts';
import { decisionOf, type Governor } from './governor.ts';
import type { LineId } from './line.ts';

/** What the governor line's suppressions would have cost to send (the policy's channel costs). */
export interface Avoided {
  amount: number;
  decisions: number;
  currency: string;
}

export async function inProcessLines(
  bench: Bench,
  governor: Governor,
): Promise<{ lines: LineSpec[]; avoided: Avoided }> {
  const { warm, load, runs } = bench;
  const { warmup, decisions, concurrency } = bench.options;
  const { root, sendMessages } = governor;
  const lines: LineSpec[] = [];
  /** A line that takes each message in this process: by `sendMessages` on `deps`, or by `take`. */
  const inProcess = async (
    id: LineId,
    line: string,
    label: string,
    deps: SendDeps,
    take = async (message: Message) => decisionOf((await sendMessages(deps, [message]))[0]),
  ) => {
    await governor.seedPreferences(line);
    const warmMessages = governor.messagesOf(warm, `w${line}`, warmup);
    const messages = governor.messagesOf(load, line, decisions);
    lines.push({
      id,
      label,
      tasks: { warm: warmup, run: decisions },
      conc: concurrency,
      task: async (phase, i) => [await take((phase === 'warm' ? warmMessages[i] : messages[i]) as Message)],
      per: 'decision',
    });
  };
  const channelCosts = parsePolicy(BENCH_POLICY).channelCosts;
  const avoided: Avoided = { amount: 0, decisions: 0, currency: channelCosts.currency };
  // As functions/send/handler.ts wires it (less its metrics): the root's queue, deferred store, counter.
  const handlerDeps: SendDeps = { ...root };
  if (runs('governor'))
    await inProcess('governor', 'g', 'governor in-process, as wired', handlerDeps, async (message) => {
      const [answer] = await sendMessages(handlerDeps, [message]);
      avoided.decisions++;
      if (answer && !(answer instanceof GovernorError) && answer.decision === 'suppressed')
        avoided.amount += channelCosts[answer.channel];
      return decisionOf(answer);
    });
  if (runs('engaged'))
    await inProcess(
      'engaged',
      'e',
      'governor in-process + engagement',
      await engagedDeps(governor, handlerDeps),
    );
  if (runs('unarchived'))
    await inProcess('unarchived', 'x', 'governor in-process, no archive', {
      ...handlerDeps,
      archive: undefined,
    });
  if (runs('uncounted'))
    await inProcess('uncounted', 'u', 'governor in-process, counting off', {
      ...handlerDeps,
      counter: undefined,
    });
  if (runs('noop'))
    await inProcess('noop', 'n', 'governor in-process, no queue/counter', {
      ...handlerDeps,
      queue: { enqueue: async () => {} },
      counter: undefined,
    });
  // The customer-item write alone (append and read back, no replay, decision, queue or count): what the
  // store costs over the floor's UpdateItem.
  if (runs('append'))
    await inProcess('append', 'a', 'governor append only', handlerDeps, async (message) => {
      const now = Date.now();
      const entry = root.customers.messageEntry(message, now, governor.policyVersion);
      await root.customerStore.append(message.customerId, [entry], now);
      return 'appended';
    });
  return { lines, avoided };
}

/**
 * The send handler's wiring with its own customer log and policy cache, both reading ENGAGED_POLICY as
 * the current version (kept out of the table, where it would become every other line's policy too).
 */
async function engagedDeps(governor: Governor, deps: SendDeps): Promise<SendDeps> {
  const { PolicyCache } = await import('#shared/app/policy-cache.ts');
  const { CustomerLog } = await import('#shared/app/customers.ts');
  const { releaseMarginMs } = await import('#shared/app/release.ts');
  const { root } = governor;
  const { config } = root;
  const engaged: Policy = {
    ...parsePolicy(ENGAGED_POLICY),
    version: 1_000_000,
    createdAt: new Date().toISOString(),
    author: 'bench',
  };
  const store: PolicyStore = {
    ...root.policyStore,
    current: async () => engaged,
    get: async (version) => (version === engaged.version ? engaged : root.policyStore.get(version)),
    versions: () => root.policyStore.versions(),
    put: () => Promise.reject(new Error('the engaged line stores no policy')),
  };
  const policies = new PolicyCache(store, root.clock, config.GOVERNOR_POLICY_TTL_MS);
  const customers = new CustomerLog({
    store: root.customerStore,
    policies,
    clock: root.clock,
    hashes: root.hashes,
    idempotencyMs: config.GOVERNOR_IDEMPOTENCY_HOURS * 3600_000,
    releaseMarginMs: releaseMarginMs(config.GOVERNOR_RELEASE_INTERVAL_S),
  });
  return { ...deps, policies, customers };
}
