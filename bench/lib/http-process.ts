/**
 * The local HTTP API in a process of its own (forked by the bench): `startApi`, as each API instance of
 * `npm start` runs it, on the bench's engines process. Counts the handlers' AWS calls with the bench's
 * meter.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localEnvironment, startApi } from '#local/stack.ts';
import { CallMeter } from './meter.ts';

if (!process.send) throw new Error('must be forked with an IPC channel');
const send = (message: unknown) => process.send?.(message);

const engineEnv = JSON.parse(process.argv[2] ?? '{}') as Record<string, string>;
const dataDir = await mkdtemp(join(tmpdir(), 'governor-bench-http-'));
const adminKey = await localEnvironment(dataDir, { env: engineEnv });
const stack = await startApi();

// The handlers build their root on first use; this is the same module instance, so the same root.
const { getRoot } = await import('#shared/composition.ts');
const root = getRoot();
const meter = new CallMeter();
meter.attach(root.db, 'dynamodb');
meter.attach(root.sqs, 'sqs');

let cpu = process.cpuUsage();
let stopping: Promise<void> | undefined;
const stop = () => {
  stopping ??= stack
    .stop()
    .then(() => rm(dataDir, { recursive: true, force: true }))
    .finally(() => process.exit(0));
  return stopping;
};
process.on('message', (message: { type?: string }) => {
  if (message.type === 'reset') {
    meter.reset();
    cpu = process.cpuUsage();
    send({ type: 'reset' });
  } else if (message.type === 'stats') {
    const used = process.cpuUsage(cpu);
    send({ type: 'stats', snapshot: meter.snapshot(), cpuMicros: used.user + used.system });
  } else if (message.type === 'stop') {
    void stop();
  }
});
process.on('disconnect', () => void stop());
send({ type: 'ready', url: stack.url, adminKey });
