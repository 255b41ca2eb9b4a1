/**
 * `npm start`: the local stack on PORT (default 3000) with its data in GOVERNOR_DATA_DIR (default
 * `.governor/`). Stops cleanly on SIGINT/SIGTERM so that the on-disk data is closed properly.
 */
import { resolve } from 'node:path';
import { startLocalStack } from './stack.ts';

const port = Number(process.env.PORT ?? 3000);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`PORT must be a port number, got ${process.env.PORT}`);
  process.exit(1);
}
const dataDir = resolve(process.env.GOVERNOR_DATA_DIR || '.governor/');

const stack = await startLocalStack({ dataDir, port, logRequests: true }).catch((error: unknown) => {
  console.error('Governor failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});

console.log(`Governor listening on ${stack.url}`);
console.log(`Admin key: ${stack.adminKey}`);
console.log(`Data: ${dataDir}`);

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
