/**
 * `npm run bench:dry-run`: how fast a dry-run replays the archive, and what that makes of the largest
 * case on AWS. A synthetic archive of `--events` records (5 M by default: `--customers` customers'
 * decisions, preference changes and unsubscribes over `--days` days, in the local layout
 * `day=YYYY-MM-DD/shard=NN/`) is written to a temporary folder, then replayed by the local runner (worker
 * threads, the real engine, a draft with a tighter daily cap) over the last week.
 *
 *   npm run bench:dry-run -- [--events 5000000] [--customers N] [--days 30] [--threads N] [--aws-events 150000000]
 *
 * Prints the measured rate (events replayed per second of wall time, and per CPU second of the process and
 * its threads — the rate of one core, whatever else the machine runs) beside the projected wall time of `--aws-events` on AWS: one Lambda worker
 * per shard (16, the Distributed Map's concurrency), each replaying its sixteenth at the measured rate
 * per core, plus the assumptions printed with it (cold start, S3 read, state transitions).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LocalArchiveReader } from '#shared/adapters/archive/local.ts';
import { WorkerThreadRunner } from '#shared/adapters/archive/worker-runner.ts';
import { finishJob } from '#shared/app/dry-runs.ts';
import { ARCHIVE_SHARDS, shardOf } from '#shared/domain/archive.ts';
import { DEFAULT_POLICY } from '#shared/domain/default-policy.ts';
import type { DryRunResult } from '#shared/domain/dry-run-result.ts';
import type { Policy } from '#shared/domain/schemas.ts';
import type { DryRunJob, DryRunStore } from '#shared/ports.ts';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '5000000' },
    customers: { type: 'string' },
    days: { type: 'string', default: '30' },
    threads: { type: 'string' },
    'aws-events': { type: 'string', default: '150000000' },
  },
});
const EVENTS = Number(values.events);
const DAYS = Number(values.days);
/** About 25 events per customer over the period: a few messages a week. */
const CUSTOMERS = Number(values.customers ?? Math.max(1, Math.round(EVENTS / 25)));
const THREADS = values.threads === undefined ? undefined : Number(values.threads);
const AWS_EVENTS = Number(values['aws-events']);

const DAY = 86_400_000;
const END = Date.parse('2026-12-01T00:00:00.000Z');
const START = END - DAYS * DAY;
const CHANNELS = ['email', 'email', 'email', 'push', 'sms', 'whatsapp'] as const;
const CAMPAIGNS = Array.from({ length: 12 }, (_, i) => `campaign-${i}`);

/** A fast deterministic generator (mulberry32): the same archive for the same arguments. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Writes the archive: each customer's events in time order (decisions, one in forty a preference change
 * or an unsubscribe), grouped by day and shard into one file per partition. Returns its bytes.
 */
async function generate(dir: string): Promise<number> {
  const next = random(15);
  const partitions = new Map<string, string[]>();
  const iso = (t: number) => new Date(t).toISOString();
  let written = 0;
  let bytes = 0;
  const flush = async () => {
    for (const [partition, lines] of partitions) {
      const folder = join(dir, partition);
      await mkdir(folder, { recursive: true });
      const text = `${lines.join('\n')}\n`;
      bytes += Buffer.byteLength(text);
      await writeFile(join(folder, `bench-${randomBytes(4).toString('hex')}.jsonl`), text);
    }
    partitions.clear();
  };
  for (let c = 0; c < CUSTOMERS && written < EVENTS; c++) {
    const pseudonym = randomBytes(16).toString('base64url').slice(0, 22);
    const shard = shardOf(pseudonym);
    const count = Math.min(
      EVENTS - written,
      c === CUSTOMERS - 1 ? EVENTS - written : Math.max(1, Math.round(25 * 2 * next())),
    );
    const times = Array.from({ length: count }, () => START + Math.floor(next() * DAYS * DAY)).sort(
      (a, b) => a - b,
    );
    for (let i = 0; i < count; i++) {
      const at = times[i] as number;
      const base = `{"v":1,"at":"${iso(at)}","pseudonym":"${pseudonym}","write":${i + 1},"index":0,"shard":${shard}`;
      const roll = next();
      let line: string;
      if (roll < 0.0125) {
        line = `${base},"type":"preferences","preferences":{"channels":{"sms":{"optIn":false}},"topics":{}}}`;
      } else if (roll < 0.025) {
        line = `${base},"type":"feedback","channel":"email","feedback":"unsubscribed"}`;
      } else {
        const channel = CHANNELS[Math.floor(next() * CHANNELS.length)];
        const campaign = CAMPAIGNS[Math.floor(next() * CAMPAIGNS.length)];
        const relevance = Math.round(next() * 100) / 100;
        const outcome = next() < 0.6 ? 'accepted' : 'suppressed';
        const why = outcome === 'suppressed' ? ',"reason":"frequency_cap","rule":"marketing-daily"' : '';
        line =
          `${base},"type":"decision","ref":"${pseudonym.slice(0, 8)}${i}","channel":"${channel}","kind":"marketing",` +
          `"campaignId":"${campaign}","relevance":${relevance},"expiresAt":"${iso(at + 6 * 3600_000)}",` +
          `"policyVersion":0,"outcome":"${outcome}","outcomeChannel":"${channel}"${why}}`;
      }
      const partition = join(`day=${iso(at).slice(0, 10)}`, `shard=${String(shard).padStart(2, '0')}`);
      const lines = partitions.get(partition);
      if (lines) lines.push(line);
      else partitions.set(partition, [line]);
    }
    written += count;
    if (c % 20_000 === 19_999) await flush();
  }
  await flush();
  return bytes;
}

/** The job store of a bench run: in memory. */
class MemoryStore implements DryRunStore {
  readonly jobs = new Map<string, DryRunJob>();
  async create(job: DryRunJob) {
    this.jobs.set(job.id, { ...job });
  }
  async get(id: string) {
    return this.jobs.get(id);
  }
  private job(id: string): DryRunJob {
    const job = this.jobs.get(id);
    if (!job) throw new Error(`no job ${id}`);
    return job;
  }
  async start(id: string, totalEvents: number) {
    Object.assign(this.job(id), { status: 'running', progress: { ...this.job(id).progress, totalEvents } });
  }
  async advance(id: string, events: number) {
    this.job(id).progress.events += events;
  }
  async count(id: string, events: number) {
    this.job(id).progress.events += events;
    this.job(id).progress.totalEvents += events;
  }
  async heartbeat(id: string, at: number, leaseMs: number) {
    Object.assign(this.job(id), { updatedAt: at, leaseMs });
  }
  async finish(id: string, result: DryRunResult) {
    Object.assign(this.job(id), { status: 'done', result });
  }
  async fail(id: string, error: string) {
    Object.assign(this.job(id), { status: 'failed', error });
  }
}

const dir = await mkdtemp(join(tmpdir(), 'governor-bench-dry-run-'));
try {
  let started = performance.now();
  const generationCpu = process.cpuUsage();
  const bytes = await generate(dir);
  const generatedMs = performance.now() - started;
  const generatedCpu = process.cpuUsage(generationCpu);
  console.log(
    `archive: ${EVENTS.toLocaleString('en')} events of ${CUSTOMERS.toLocaleString('en')} customers over ${DAYS} days, ` +
      `${(bytes / 1e6).toFixed(0)} MB (${(bytes / EVENTS).toFixed(0)} bytes a record), written in ${(generatedMs / 1000).toFixed(1)} s ` +
      `(${((generatedCpu.user + generatedCpu.system) / 1e6).toFixed(1)} CPU s)`,
  );

  const store = new MemoryStore();
  const draft: Policy = {
    ...DEFAULT_POLICY,
    version: 0,
    author: 'bench',
    caps: [{ id: 'marketing-daily', limit: 1, window: 'P2D', match: {} }],
  };
  const job: DryRunJob = {
    id: 'bench',
    status: 'queued',
    from: END - 7 * DAY,
    to: END,
    draft,
    createdAt: Date.now(),
    author: 'bench',
    progress: { events: 0, totalEvents: 0 },
  };
  await store.create(job);
  let done!: () => void;
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  const runner = new WorkerThreadRunner({
    dir,
    reader: new LocalArchiveReader(dir),
    store,
    clock: { now: () => Date.now() },
    policies: async () => [DEFAULT_POLICY],
    finish: async (j, input, results) => {
      await finishJob(store, j, input, results);
      done();
    },
    ...(THREADS === undefined ? {} : { threads: THREADS }),
  });
  const threads = Math.min(ARCHIVE_SHARDS, THREADS ?? Math.min(4, Math.max(1, availableParallelism() - 1)));
  started = performance.now();
  const cpuBefore = process.cpuUsage();
  await runner.start(job);
  await Promise.race([
    finished,
    new Promise<void>((_, reject) => {
      const timer = setInterval(() => {
        const j = store.jobs.get('bench');
        if (j?.status === 'failed') reject(new Error(j.error));
      }, 200);
      void finished.finally(() => clearInterval(timer));
    }),
  ]);
  const replayMs = performance.now() - started;
  // CPU time of the process and its worker threads: the rate per core, whatever else the machine runs.
  const cpu = process.cpuUsage(cpuBefore);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  const result = store.jobs.get('bench')?.result;
  const replayed = result?.events ?? 0;
  const rate = replayed / (replayMs / 1000);
  const perCore = replayed / cpuS;

  // The AWS projection: one worker per shard, at the measured rate per core.
  const COLD_START_S = 1.5;
  const STATE_TRANSITIONS_S = 3; // plan, map, merge: about a second each, Lambda invocations included
  const S3_MB_PER_S = 80; // one worker's GetObject throughput, gzip objects at ~8:1
  const GZIP_RATIO = 8;
  const perWorker = AWS_EVENTS / ARCHIVE_SHARDS;
  const replayS = perWorker / perCore;
  const readS = (perWorker * (bytes / EVENTS)) / GZIP_RATIO / (S3_MB_PER_S * 1e6);
  const planS = 2;
  const awsS = COLD_START_S + planS + readS + replayS + STATE_TRANSITIONS_S;

  const rows: [string, string, string][] = [
    ['', 'measured here', `projected on AWS (${(AWS_EVENTS / 1e6).toFixed(0)} M)`],
    ['events', replayed.toLocaleString('en'), AWS_EVENTS.toLocaleString('en')],
    [
      'workers',
      `${threads} threads on ${availableParallelism()} cores`,
      `${ARCHIVE_SHARDS} Lambda workers (one per shard)`,
    ],
    [
      'events per worker',
      `${Math.round(replayed / ARCHIVE_SHARDS).toLocaleString('en')} per shard`,
      Math.round(perWorker).toLocaleString('en'),
    ],
    [
      'events/s in all',
      Math.round(rate).toLocaleString('en'),
      Math.round(perCore * ARCHIVE_SHARDS).toLocaleString('en'),
    ],
    [
      'events per CPU second',
      `${Math.round(perCore).toLocaleString('en')} (${cpuS.toFixed(1)} CPU s)`,
      `${Math.round(perCore).toLocaleString('en')} per worker (assumed the same core)`,
    ],
    ['wall time', `${(replayMs / 1000).toFixed(1)} s`, `${awsS.toFixed(0)} s`],
  ];
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  for (const r of rows) console.log(r.map((cell, i) => cell.padEnd(widths[i] as number)).join('  '));
  console.log(
    `AWS assumptions: ${ARCHIVE_SHARDS} workers at once (the map's MaxConcurrency), one core each (the replay is ` +
      `single-threaded), cold start ${COLD_START_S} s, plan ${planS} s, S3 read ${readS.toFixed(1)} s ` +
      `(${(bytes / EVENTS).toFixed(0)} bytes a record, gzip ${GZIP_RATIO}:1, ${S3_MB_PER_S} MB/s a worker), ` +
      `replay ${replayS.toFixed(0)} s, ${STATE_TRANSITIONS_S} s of state transitions and merge.`,
  );
  const LAMBDA_LIMIT_S = 900;
  if (COLD_START_S + readS + replayS > LAMBDA_LIMIT_S) {
    console.log(
      `warning: a worker would need ${(readS + replayS).toFixed(0)} s, beyond Lambda's ${LAMBDA_LIMIT_S} s: at this ` +
        'rate the archive needs more shards than 16 for this volume.',
    );
  }
  console.log(
    `check: current accepted ${result?.current.accepted ?? 0}, draft accepted ${result?.draft.accepted ?? 0} ` +
      `(of ${replayed.toLocaleString('en')} events, the last 7 days decided)`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
