/**
 * What a million decisions cost on AWS, from what the bench measured per decision (DynamoDB calls and
 * the write and read units their items cost, SQS requests, CPU time, archive bytes) and a price list
 * written here with its date and region. What the bench cannot measure on this machine (the latency of
 * AWS's services, which a Lambda invocation waits on and is billed for; the delivery side's calls) is
 * stated below as a named assumption, each with where it comes from.
 */

import { ARCHIVE_SHARDS } from '#shared/domain/archive.ts';

/**
 * The on-demand list prices of us-east-1 (N. Virginia), in USD, as the AWS pricing pages published
 * them in June 2025 (DynamoDB after its November 2024 on-demand price cut). Free tiers are left out.
 * Prices differ by region (eu-west-3, Paris, is some 10-20% dearer for most of these): re-check them
 * before quoting a figure.
 */
export const PRICES = {
  region: 'us-east-1',
  date: '2025-06',
  currency: 'USD',
  dynamodb: {
    /** Per write request unit (1 KB of item, on demand). */
    writeRequestUnit: 0.625 / 1e6,
    /** Per read request unit (4 KB strongly consistent, or 8 KB eventually consistent). */
    readRequestUnit: 0.125 / 1e6,
  },
  lambda: {
    /** Per GB-second on arm64 (the first 7.5 billion GB-s of a month). */
    gbSecondArm64: 0.0000133334,
    request: 0.2 / 1e6,
  },
  apiGateway: {
    /** HTTP API, per request of up to 512 KB (the first 300 million of a month). */
    httpRequest: 1.0 / 1e6,
  },
  sqs: {
    /** Standard queue, per request (each 64 KB of a request's payload is one). */
    request: 0.4 / 1e6,
  },
  firehose: {
    /** Direct PUT ingestion per GB, each record rounded up to 5 KB (the first 500 TB of a month). */
    ingestionGb: 0.029,
    recordRoundingBytes: 5 * 1024,
    /** Dynamic partitioning, per GB processed; and per 1,000 objects it delivers (a fixed cost per hour). */
    dynamicPartitioningGb: 0.02,
    objectsPer1000: 0.005,
  },
  s3: {
    /** S3 Standard, per GB-month (the first 50 TB). */
    storageGbMonth: 0.023,
    putPer1000: 0.005,
  },
  xray: { tracePerMillion: 5.0 },
  cloudwatchLogs: { ingestionGb: 0.5 },
} as const;

/** Assumptions the bench cannot measure here; each one named, with where it comes from. */
export const ASSUMED = {
  /** infra/constructs/governor-function.ts: every function has 1,024 MB. */
  lambdaMemoryGb: 1,
  /** A DynamoDB UpdateItem from Lambda in the table's region, p50 (AWS quotes single-digit ms). */
  dynamoMs: 6,
  /** An SQS SendMessageBatch, p50, in region. */
  sqsMs: 10,
  /** A Firehose PutRecordBatch, p50, in region. */
  firehoseMs: 15,
  /** Customers a batch decides at once (shared/app/send.ts CUSTOMER_CONCURRENCY). */
  batchCustomerConcurrency: 32,
  /** On Lambda decision counts are written at the end of every invocation (GOVERNOR_COUNT_FLUSH_MS=0): one PutItem. */
  tallyWritesPerInvocation: 1,
  /** Lambda's own log lines per invocation (START, END, REPORT as JSON), and the function's, in KB. */
  logKbPerInvocation: 0.6,
  /** X-Ray's default sampling: the first request each second, then 5% — at volume, about 5%. */
  tracedShare: 0.05,
  /** The delivery side, per accepted message (functions/dispatch, shared/app/dispatch.ts): */
  delivery: {
    /** The event source mapping's ReceiveMessage and DeleteMessageBatch per batch of 10. */
    sqsRequests: 0.2,
    /** One dispatch invocation per batch of 10. */
    invocations: 0.1,
    /** A batch's duration, a webhook answering in 100 ms, the ledger's writes around it. */
    batchMs: 150,
    /** The delivery ledger: a claim and a delivered mark, two UpdateItems of a small item. */
    writeUnits: 2,
  },
  /** Firehose delivers one object per partition (day × shard) per buffer interval; a fixed cost per hour. */
  archiveShards: ARCHIVE_SHARDS,
  bufferIntervalS: 900,
} as const;

/** What the bench measured, per decision (one line's figures). */
export interface Measured {
  label: string;
  writeUnits: number;
  readUnits: number;
  /** SQS requests as billed, on the decision path (the delivery queue's SendMessageBatch). */
  sqsRequests: number;
  /** CPU time of the deciding process (SDK calls included), ms. */
  cpuMs: number;
  acceptedShare: number;
  /** Archive lines' bytes, raw and gzip-compressed as Firehose stores them; undefined: not measured. */
  archiveBytes?: number | undefined;
  archiveStoredBytes?: number | undefined;
  /** Archive lines per decision (a decision, a release, a preference change: one line each). */
  archiveLines?: number | undefined;
  /** Days the archive is kept (GOVERNOR_ARCHIVE_DAYS). */
  archiveDays: number;
  /** Bytes of the request body of a batch of `batchSize` messages. */
  batchRequestBytes: number;
  batchSize: number;
}

export interface CostRow {
  component: string;
  /** What one decision uses of it, as text. */
  quantity: string;
  /** Cost per million decisions, one message per request and in batches. */
  single: number;
  batch: number;
  /** Measured, stated (an assumption above), or a fixed cost per hour not counted per decision. */
  basis: 'measured' | 'stated' | 'mixed';
}

const GB = 1024 ** 3;
const MILLION = 1e6;

/** The billed duration of one send invocation deciding `n` messages (ms, rounded up as Lambda does). */
export function sendInvocationMs(m: Measured, n: number): number {
  const concurrent = Math.ceil(n / ASSUMED.batchCustomerConcurrency);
  // The decisions' CPU time and their UpdateItems overlap; the queue, archive and counts follow them.
  const decide = Math.max(n * m.cpuMs, concurrent * ASSUMED.dynamoMs + m.cpuMs);
  const enqueue = m.acceptedShare > 0 ? ASSUMED.sqsMs : 0;
  const archive = m.archiveBytes !== undefined ? ASSUMED.firehoseMs : 0;
  return Math.ceil(decide + enqueue + archive + ASSUMED.dynamoMs * ASSUMED.tallyWritesPerInvocation);
}

/** Cost rows per million decisions, for one message per request and for batches. */
export function costTable(m: Measured): CostRow[] {
  const P = PRICES;
  const A = ASSUMED;
  const perRequest = { single: 1, batch: 1 / m.batchSize };
  const both = (f: (perInvocation: number, n: number) => number) => ({
    single: f(perRequest.single, 1) * MILLION,
    batch: f(perRequest.batch, m.batchSize) * MILLION,
  });
  const rows: CostRow[] = [];
  const add = (row: CostRow) => rows.push(row);

  const batchApiRequests = Math.ceil(m.batchRequestBytes / (512 * 1024));
  add({
    component: 'API Gateway HTTP API requests',
    quantity: `1 request; ${batchApiRequests}/${m.batchSize} in a batch (${(m.batchRequestBytes / 1024).toFixed(0)} KB)`,
    single: P.apiGateway.httpRequest * MILLION,
    batch: (batchApiRequests / m.batchSize) * P.apiGateway.httpRequest * MILLION,
    basis: 'measured',
  });
  add({
    component: 'Lambda requests (send)',
    quantity: `1 invocation; 1/${m.batchSize} in a batch`,
    ...both((inv) => inv * P.lambda.request),
    basis: 'measured',
  });
  const singleMs = sendInvocationMs(m, 1);
  const batchMs = sendInvocationMs(m, m.batchSize);
  add({
    component: `Lambda duration (send, ${A.lambdaMemoryGb * 1024} MB arm64)`,
    quantity: `${singleMs} ms; ${batchMs} ms per batch (${m.cpuMs.toFixed(3)} ms CPU/decision + waits)`,
    single: (singleMs / 1000) * A.lambdaMemoryGb * P.lambda.gbSecondArm64 * MILLION,
    batch: (batchMs / 1000 / m.batchSize) * A.lambdaMemoryGb * P.lambda.gbSecondArm64 * MILLION,
    basis: 'mixed',
  });
  add({
    component: 'DynamoDB write request units',
    quantity: `${m.writeUnits.toFixed(3)} WRU + ${A.tallyWritesPerInvocation} count write per invocation`,
    ...both((inv) => (m.writeUnits + inv * A.tallyWritesPerInvocation) * P.dynamodb.writeRequestUnit),
    basis: 'mixed',
  });
  add({
    component: 'DynamoDB read request units',
    quantity: `${m.readUnits.toFixed(4)} RRU`,
    ...both(() => m.readUnits * P.dynamodb.readRequestUnit),
    basis: 'measured',
  });
  add({
    component: 'SQS requests (enqueue)',
    quantity: `${m.sqsRequests.toFixed(3)} requests`,
    ...both(() => m.sqsRequests * P.sqs.request),
    basis: 'measured',
  });
  if (m.archiveBytes !== undefined && m.archiveStoredBytes !== undefined) {
    const bytes = m.archiveBytes;
    // One packed Firehose record per invocation at least: a lone decision's lines are billed as 5 KB.
    const ingested = (inv: number) => Math.max(bytes, inv * P.firehose.recordRoundingBytes);
    add({
      component: 'Firehose ingestion',
      quantity: `${bytes.toFixed(0)} B (${(m.archiveLines ?? 0).toFixed(2)} lines); ≥ 5 KB a record`,
      ...both((inv) => (ingested(inv) / GB) * P.firehose.ingestionGb),
      basis: 'measured',
    });
    add({
      component: 'Firehose dynamic partitioning',
      quantity: `${bytes.toFixed(0)} B processed`,
      ...both(() => (bytes / GB) * P.firehose.dynamicPartitioningGb),
      basis: 'measured',
    });
    const months = m.archiveDays / 30;
    add({
      component: `S3 storage of the archive, ${m.archiveDays} days`,
      quantity: `${m.archiveStoredBytes.toFixed(0)} B gzip × ${months.toFixed(1)} months`,
      ...both(() => (m.archiveStoredBytes! / GB) * months * P.s3.storageGbMonth),
      basis: 'measured',
    });
  }
  add({
    component: 'X-Ray traces (sampled)',
    quantity: `${A.tracedShare * 100}% of invocations`,
    ...both((inv) => inv * A.tracedShare * (P.xray.tracePerMillion / MILLION)),
    basis: 'stated',
  });
  add({
    component: 'CloudWatch Logs (Lambda lines)',
    quantity: `${A.logKbPerInvocation} KB per invocation`,
    ...both((inv) => ((inv * A.logKbPerInvocation * 1024) / GB) * P.cloudwatchLogs.ingestionGb),
    basis: 'stated',
  });
  const d = A.delivery;
  const accepted = m.acceptedShare;
  const deliveryCost =
    accepted *
    (d.sqsRequests * P.sqs.request +
      d.invocations * P.lambda.request +
      d.invocations * (d.batchMs / 1000) * A.lambdaMemoryGb * P.lambda.gbSecondArm64 +
      d.writeUnits * P.dynamodb.writeRequestUnit);
  add({
    component: 'Delivery of the accepted (dispatch)',
    quantity: `${(accepted * 100).toFixed(0)}% accepted × (SQS, Lambda, ledger writes)`,
    single: deliveryCost * MILLION,
    batch: deliveryCost * MILLION,
    basis: 'stated',
  });
  return rows;
}

/** The fixed cost of the archive per month, whatever the volume: one object per partition per interval. */
export function archiveObjectsPerMonth(): { objects: number; cost: number } {
  const objects = ASSUMED.archiveShards * ((30 * 86_400) / ASSUMED.bufferIntervalS);
  return {
    objects,
    cost: (objects / 1000) * (PRICES.firehose.objectsPer1000 + PRICES.s3.putPer1000),
  };
}

/** The table as lines of text. */
export function formatCostTable(m: Measured, rows: CostRow[], avoidedPerMillion?: string): string[] {
  const money = (x: number) => `$${x < 10 ? x.toFixed(3) : x.toFixed(2)}`;
  const widths = [40, 62, 12, 12, 9];
  const row = (cells: string[]) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('');
  const total = (key: 'single' | 'batch') => rows.reduce((n, r) => n + r[key], 0);
  const fixed = archiveObjectsPerMonth();
  return [
    `AWS cost per million decisions (${m.label}), ${PRICES.region} list prices of ${PRICES.date} in ${PRICES.currency} (bench/lib/cost.ts):`,
    row(['component', 'per decision', '1/request', `batch ${m.batchSize}`, 'basis']),
    '─'.repeat(widths.reduce((a, b) => a + b, 0)),
    ...rows.map((r) => row([r.component, r.quantity, money(r.single), money(r.batch), r.basis])),
    '─'.repeat(widths.reduce((a, b) => a + b, 0)),
    row(['total', '', money(total('single')), money(total('batch')), '']),
    `  plus the archive's fixed cost: ~${Math.round(fixed.objects).toLocaleString('en-US')} objects a month (${ASSUMED.archiveShards} shards × a ${ASSUMED.bufferIntervalS} s buffer) = ${money(fixed.cost)}/month, whatever the volume`,
    "  measured: this run's calls, units and bytes per decision; stated: ASSUMED in bench/lib/cost.ts (AWS latencies, the delivery side);",
    '  not per decision: alarms, dashboard, secrets, KMS, Firehose JQ hours, Glue catalogue, dry-runs (Step Functions, Lambda, S3 reads)',
    ...(avoidedPerMillion
      ? [
          `  beside it, avoided sends: ${avoidedPerMillion} per million decisions of this workload (suppressed × channel costs)`,
        ]
      : []),
  ];
}
