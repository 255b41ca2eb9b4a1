/**
 * The delivery workers of `npm start` in a process of their own, as the dispatch and release functions
 * are Lambda functions of their own: SQS pollers invoking the dispatch handler, the release timer, and
 * the delivery journal's recovery (on the first start, `recover`) and sweeps. Announces which provider
 * delivers each channel.
 *
 * It runs at a lower scheduling priority than the API instances and the engines: on a machine whose
 * cores the stack shares, a burst of decisions is answered first and delivery catches up behind it (on
 * AWS dispatch has Lambda instances of its own and takes nothing from the send function).
 */
import { setPriority } from 'node:os';
import './clock-offset.ts';
import { runChild } from './child.ts';
import type { EngineEndpoints } from './engines.ts';
import { localEnvironment } from './stack.ts';
import { deliveryWorkers } from './workers.ts';

process.title = 'governor-workers';
/** nice(1) value: 10 leaves delivery about a tenth of a core that the API and the engines want. */
const WORKERS_NICENESS = 10;
try {
  setPriority(WORKERS_NICENESS);
} catch {
  // Not allowed here: delivery then competes with the API on equal terms.
}

runChild({
  async start(message) {
    const engines = message.engines as EngineEndpoints;
    await localEnvironment(String(message.dataDir), engines);
    const stop = await deliveryWorkers({ recover: message.recover !== false })({ engines });
    const { getDeliveryRoot } = await import('#shared/composition.ts');
    return { ready: { byChannel: getDeliveryRoot().providers.byChannel }, stop };
  },
});
