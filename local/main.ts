/**
 * `npm start`: the local stack on PORT (default 3000; 0 picks a free port, printed) with its data in
 * GOVERNOR_DATA_DIR (default `.governor/`), the delivery workers (SQS pollers invoking the dispatch
 * handler, the release timer every GOVERNOR_RELEASE_INTERVAL_S) included. Stops cleanly on
 * SIGINT/SIGTERM so that the on-disk data is closed properly; what was still queued is re-enqueued from
 * the delivery journal on the next start.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { startLocalStack } from './stack.ts';
import { deliveryWorkers } from './workers.ts';

const port = Number(process.env.PORT ?? 3000);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`PORT must be a port number, got ${process.env.PORT}`);
  process.exit(1);
}
const dataDir = resolve(process.env.GOVERNOR_DATA_DIR || '.governor/');

const stack = await startLocalStack({
  dataDir,
  port,
  logRequests: process.env.GOVERNOR_LOG_REQUESTS !== 'false',
  onStart: [deliveryWorkers()],
}).catch((error: unknown) => {
  console.error('Governor failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});

console.log(`Governor listening on ${stack.url}`);
console.log(`Admin key: ${stack.adminKey}`);
console.log(`Data: ${dataDir}`);
const { getDeliveryRoot } = await import('#shared/composition.ts');
const { byChannel } = getDeliveryRoot().providers;
console.log(
  `Delivery: ${Object.entries(byChannel)
    .map(([channel, provider]) => `${channel}→${provider}`)
    .join(', ')}`,
);
console.log(`SQS: ${stack.engines.sqsEndpoint} (DLQ ${stack.engines.dlqUrl})`);
// For tools that talk to this stack's engines (local/dlq.ts): where they listen now.
await mkdir(dataDir, { recursive: true });
await writeFile(
  join(dataDir, 'endpoints.json'),
  `${JSON.stringify({ url: stack.url, ...stack.engines.env, pid: process.pid }, null, 2)}\n`,
);

/**
 * Ctrl-C reaches npm, tsx and this process at once, and npm and tsx relay it again: the first few copies
 * of a signal arrive together. Only a signal sent well after the first one forces an exit.
 */
const FORCE_AFTER_MS = 2000;
let firstSignalAt: number | undefined;
async function shutdown(signal: NodeJS.Signals): Promise<void> {
  if (firstSignalAt !== undefined) {
    if (Date.now() - firstSignalAt < FORCE_AFTER_MS) return;
    console.error(`${signal} again: exiting without a clean stop`);
    process.exit(1);
  }
  firstSignalAt = Date.now();
  console.log(`${signal} received, stopping…`);
  try {
    await stack.stop();
    console.log('Governor stopped');
    process.exit(0);
  } catch (error) {
    console.error('Governor did not stop cleanly:', error);
    process.exit(1);
  }
}
process.on('SIGINT', (signal) => void shutdown(signal));
process.on('SIGTERM', (signal) => void shutdown(signal));
