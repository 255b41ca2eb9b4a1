/**
 * A worker thread of the local dry-run runner (worker-runner.ts): replays the shards it is sent, one
 * message each, with the real engine, and answers with each shard's result.
 */
import { parentPort } from 'node:worker_threads';
import type { ShardInput } from '../../app/dry-runs.ts';
import { replayShard } from '../../domain/dry-run.ts';
import type { ArchiveShard } from '../../ports.ts';
import { LocalArchiveReader } from './local.ts';

export interface ShardTask {
  task: number;
  dir: string;
  shard: ArchiveShard;
  input: ShardInput;
}

parentPort?.on('message', async ({ task, dir, shard, input }: ShardTask) => {
  try {
    const records = await new LocalArchiveReader(dir).read(shard);
    parentPort?.postMessage({ task, result: replayShard(records, input) });
  } catch (error) {
    parentPort?.postMessage({ task, error: (error as Error).message });
  }
});
