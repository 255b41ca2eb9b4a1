/**
 * `npm run bench:rate-limit`: what the per-key rate limit costs in DynamoDB calls, and how close N
 * instances keep one key to its limit. One key is offered `--rate` requests per second (default 200),
 * spread evenly over N instances (each its own limiter and SDK client, metered), for `--seconds` of
 * wall-clock time, against a dynalite of its own; the key's limit is `--limit` per second.
 *
 *   npm run bench:rate-limit -- [--rate 200] [--limit 100] [--seconds 5] [--instances 1,3]
 *
 * Prints, per N: requests, admitted against one bucket's allowance over the run (burst + limit × s),
 * the counter's calls by command, DynamoDB writes per request and per instance per second.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startEngines } from '#local/engines.ts';
import { createDynamoClients } from '#shared/adapters/dynamodb/client.ts';
import { DynamoRateCounter } from '#shared/adapters/dynamodb/rate-counter.ts';
import { capacityOf, RateLimiter } from '#shared/app/rate-limit.ts';
import { loadConfig } from '#shared/config.ts';
import { addSnapshots, CallMeter, emptySnapshot } from './lib/meter.ts';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '200' },
    limit: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '5' },
    instances: { type: 'string', default: '1,3' },
  },
});
const RATE = Number(values.rate);
const LIMIT = Number(values.limit);
const SECONDS = Number(values.seconds);
const INSTANCE_COUNTS = values.instances.split(',').map(Number);

const dataDir = await mkdtemp(join(tmpdir(), 'governor-bench-rate-limit-'));
const engines = await startEngines({ dataDir });
Object.assign(process.env, engines.env); // credentials for the SDK
const config = loadConfig(engines.env);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

console.log(
  `one key offered ${RATE} requests/s for ${SECONDS} s, limit ${LIMIT}/s (burst ${capacityOf(LIMIT)}), ` +
    `spread evenly over N instances`,
);
try {
  for (const n of INSTANCE_COUNTS) {
    const keyId = `bench-${n}-${Date.now()}`;
    const instances = Array.from({ length: n }, () => {
      const clients = createDynamoClients(config);
      const meter = new CallMeter();
      meter.attach(clients.client, 'dynamodb');
      const counter = new DynamoRateCounter(clients.db, config.GOVERNOR_TABLE_NAME);
      return { meter, limiter: new RateLimiter(undefined, { counter }) };
    });

    let requests = 0;
    let admitted = 0;
    const started = performance.now();
    for (;;) {
      const elapsed = (performance.now() - started) / 1000;
      if (elapsed >= SECONDS) break;
      for (const due = Math.floor(elapsed * RATE); requests < due; requests++) {
        const instance = instances[requests % n]!;
        if (instance.limiter.take(keyId, LIMIT) === 0) admitted++;
      }
      await sleep(2);
    }
    const seconds = (performance.now() - started) / 1000;
    const meter = instances.map((i) => i.meter.snapshot()).reduce(addSnapshots, emptySnapshot());
    // The last second's counts reach the table a second after the last sync: before dynalite stops.
    await sleep(1500);

    const writes = meter.calls.UpdateItemCommand ?? 0;
    const oneBucket = capacityOf(LIMIT) + LIMIT * seconds;
    console.log(
      [
        `N=${n}: ${requests} requests in ${seconds.toFixed(1)} s, admitted ${admitted}` +
          ` (one bucket: ${Math.floor(oneBucket)}, ×${(admitted / oneBucket).toFixed(2)})`,
        `  counter calls: ${JSON.stringify(meter.calls)}, ${meter.writeUnits} write units`,
        `  DynamoDB writes per request: ${(writes / requests).toFixed(4)}` +
          `, per instance per second: ${(writes / n / seconds).toFixed(2)}`,
      ].join('\n'),
    );
  }
} finally {
  await engines.stop();
  await rm(dataDir, { recursive: true, force: true });
}
