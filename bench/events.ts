/**
 * The events bench: what POST /v1/events costs at the volume deliveries, opens and clicks come in.
 * Requests of 500 events over a population of customers, recorded through the real use case on
 * dynalite; prints DynamoDB writes per event and per customer named in a request (the design: one).
 *
 *   npm run bench:events [-- --requests 40 --customers 2000]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startEngines } from '#local/engines.ts';
import { recordEvents } from '#shared/app/events.ts';
import { createRoot } from '#shared/composition.ts';
import { loadConfig } from '#shared/config.ts';
import type { CustomerEvent } from '#shared/domain/schemas.ts';
import { CallMeter } from './lib/meter.ts';

const { values } = parseArgs({
  options: { requests: { type: 'string', default: '40' }, customers: { type: 'string', default: '2000' } },
});
const requests = Number(values.requests);
const customers = Number(values.customers);

const dataDir = await mkdtemp(join(tmpdir(), 'governor-bench-events-'));
const engines = await startEngines({ dataDir });
try {
  Object.assign(process.env, engines.env);
  const config = loadConfig({
    ...engines.env,
    GOVERNOR_HASH_SECRET: 'bench-events-hash-secret-0123456789abcdef',
  });
  const root = createRoot(config);
  const meter = new CallMeter();
  meter.attach(root.db, 'dynamodb');
  let next = 0;
  let named = 0;
  const started = performance.now();
  for (let r = 0; r < requests; r++) {
    // Each message delivered, two in five opened, one in twenty clicked; a request names ~100 customers.
    const events: CustomerEvent[] = [];
    const at = new Date().toISOString();
    while (events.length < 500) {
      const m = next++;
      const customerId = `c${(m * 7919) % customers}`;
      const messageId = `m${m}`;
      events.push({ customerId, messageId, channel: 'email', type: 'delivered', at });
      if (m % 5 < 2) events.push({ customerId, messageId, channel: 'email', type: 'opened', at });
      if (m % 20 === 0) events.push({ customerId, messageId, channel: 'email', type: 'clicked', at });
    }
    named += new Set(events.map((e) => e.customerId)).size;
    await recordEvents(root, events.slice(0, 500));
  }
  const seconds = (performance.now() - started) / 1000;
  const { calls, writeUnits } = meter.snapshot();
  const writes = (calls.UpdateItemCommand ?? 0) + (calls.PutItemCommand ?? 0);
  const events = requests * 500;
  console.log(
    `events: ${events} events in ${requests} requests naming ${named} customers: ${writes} writes ` +
      `(${JSON.stringify(calls)}), ${(writes / events).toFixed(3)} writes per event, ` +
      `${(writes / named).toFixed(3)} per customer per request, ${(writeUnits / events).toFixed(3)} WCU per event, ` +
      `${Math.round(events / seconds)} events/s on dynalite`,
  );
} finally {
  await engines.stop();
  await rm(dataDir, { recursive: true, force: true });
}
