/**
 * Governor as the lines that use it find it: its modules, loaded only once the floor and
 * rate-limiter-flexible lines are set up (only modules without side effects are imported statically), a
 * root on the bench's engines with the bench policy stored, and the line's customers' preferences.
 */
import {
  type DecisionResponse,
  type Message,
  type MessageInput,
  messageSchema,
  type PolicyDocumentInput,
  preferencesSchema,
} from '#shared/domain/schemas.ts';
import { GovernorError } from '#shared/errors.ts';
import { BENCH_POLICY, customerId, parsePolicy, type Workload } from '../lib/workload.ts';
import type { Bench } from './bench.ts';

export const decisionOf = (answer: DecisionResponse | GovernorError | undefined): string =>
  answer === undefined || answer instanceof GovernorError ? 'error' : answer.decision;

export type Governor = Awaited<ReturnType<typeof startGovernor>>;

export async function startGovernor(bench: Bench) {
  // The lines run in turns, so whatever Governor's modules start at import taxes every line's client
  // alike: an X-Ray SDK (as the Powertools Tracer loads) would enable an async hook on every promise of
  // the process, +25-30% CPU per call; the report says whether one is active.
  const { createRoot } = await import('#shared/composition.ts');
  const { sendMessages } = await import('#shared/app/send.ts');
  const { mapLimit } = await import('#shared/app/per-customer.ts');
  const xrayHook = Object.keys((process as { namespaces?: object }).namespaces ?? {}).includes('AWSXRay');
  const { config, meter, preferences } = bench;
  const root = createRoot(config);
  meter.attach(root.db, 'dynamodb');
  meter.attach(root.sqs, 'sqs');
  const storePolicy = async (document: PolicyDocumentInput) => {
    const stored = await root.policyStore.put(parsePolicy(document), '*', 'bench', Date.now());
    if (!stored) throw new Error('the policy was not stored');
    return stored;
  };
  const policyVersion = (await storePolicy(BENCH_POLICY)).version;

  /** Gives the line's customers their preferences, through the customer log as the preferences API does. */
  const seedPreferences = async (line: string) => {
    await mapLimit([...preferences], bench.options.concurrency, ([index, p]) => {
      const now = Date.now();
      const entry = { type: 'preferences' as const, at: now, preferences: preferencesSchema.parse(p) };
      return root.customers.append(customerId(line, index), [entry], now);
    });
  };
  const messagesOf = (w: Workload, line: string, count: number): Message[] => {
    const now = Date.now();
    return Array.from({ length: count }, (_, i) => messageSchema.parse(w.message(line, i, now)));
  };
  const inputsOf = (w: Workload, line: string, count: number): MessageInput[] => {
    const now = Date.now();
    return Array.from({ length: count }, (_, i) => w.message(line, i, now));
  };
  return {
    createRoot,
    sendMessages,
    mapLimit,
    xrayHook,
    root,
    storePolicy,
    policyVersion,
    seedPreferences,
    messagesOf,
    inputsOf,
  };
}
