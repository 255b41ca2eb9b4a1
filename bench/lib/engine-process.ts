/**
 * The engines in a process of their own (forked by the bench with an IPC channel): dynalite and fauxqs
 * via local/engines.ts, so that the clients being measured do not share an event loop with the engine.
 * Sends `{type: 'ready', ...}` once up; answers `{type: 'cpu'}` with its CPU time; stops on `{type: 'stop'}` or
 * when the bench goes away.
 */
import { startEngines } from '#local/engines.ts';

const dataDir = process.argv[2];
if (!dataDir || !process.send) throw new Error('usage: forked with an IPC channel, argv[2] = data folder');

const engines = await startEngines({ dataDir });
let stopping: Promise<void> | undefined;
const stop = () => {
  stopping ??= engines.stop().finally(() => process.exit(0));
  return stopping;
};
process.on('message', (message: { type?: string }) => {
  if (message.type === 'cpu') process.send?.({ type: 'cpu', cpu: process.cpuUsage() });
  else if (message.type === 'stop') void stop();
});
process.on('disconnect', () => void stop());
process.send({
  type: 'ready',
  env: engines.env,
  dynamoEndpoint: engines.dynamoEndpoint,
  sqsEndpoint: engines.sqsEndpoint,
  tableName: engines.tableName,
});
