/** rate-limiter-flexible's RateLimiterDynamo, one fixed-window cap: what a team would otherwise use. */
import { CreateTableCommand, DynamoDB, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import { RateLimiterDynamo, RateLimiterRes } from 'rate-limiter-flexible';
import { customerId } from '../lib/workload.ts';
import type { Bench, LineSpec } from './bench.ts';

const RLF_TABLE = 'bench-rate-limiter';

export async function rateLimiterFlexibleLine(bench: Bench): Promise<LineSpec> {
  const { config, warm, load } = bench;
  const aggregated = new DynamoDB({ endpoint: bench.engine.ready.dynamoEndpoint, region: config.AWS_REGION });
  bench.meter.attach(aggregated, 'dynamodb');
  try {
    await aggregated.send(
      new CreateTableCommand({
        TableName: RLF_TABLE,
        AttributeDefinitions: [{ AttributeName: 'key', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'key', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  bench.stopAll.push(async () => aggregated.destroy());
  // The same weekly limit as Governor's first cap, as one fixed window; dynalite has no UpdateTimeToLive.
  const limiter = new RateLimiterDynamo({
    storeClient: aggregated,
    tableName: RLF_TABLE,
    tableCreated: true,
    ttlSet: true,
    points: 5,
    duration: 7 * 24 * 3600,
  });
  const consume = async (key: string) => {
    try {
      await limiter.consume(key);
      return 'allowed';
    } catch (error) {
      if (error instanceof RateLimiterRes) return 'blocked';
      throw error;
    }
  };
  return {
    id: 'rlf',
    label: 'rate-limiter-flexible (Dynamo)',
    tasks: { warm: bench.options.warmup, run: bench.options.decisions },
    conc: bench.options.concurrency,
    task: async (phase, i) => [
      await (phase === 'warm'
        ? consume(customerId('wr', warm.customers[i]!))
        : consume(customerId('r', load.customers[i]!))),
    ],
    per: 'decision',
  };
}
