/**
 * Governor over HTTP, as a campaign platform calls the API: one message a request, and batches. The
 * bench's own API (`startLocalStack` in a process of its own, on the bench's engines) here; `npm start`'s
 * in through-npm-start.ts.
 */
import type { DecisionResponse, MessageInput } from '#shared/domain/schemas.ts';
import { startChild } from '../lib/child.ts';
import { jsonClient } from '../lib/http-client.ts';
import type { MeterSnapshot } from '../lib/meter.ts';
import type { Bench, LineSpec, Remote } from './bench.ts';
import type { Governor } from './governor.ts';
import type { LineId } from './line.ts';

type Answer = DecisionResponse & { status?: number };

/** An API to call: where, with which key, what to ask its process, how to seed a line's preferences. */
export interface Api {
  url: string;
  adminKey: string;
  remote: Remote;
  seed: (line: string) => Promise<void>;
}

/** The single and batch lines of one API, among `ids`. */
export async function httpLines(
  bench: Bench,
  governor: Governor,
  api: Api,
  ids: {
    single: LineId;
    batch: LineId;
    prefix: string;
    label: string;
    /** A batch line with one batch in flight per API instance. */
    batches?: { id: LineId; instances: number };
  },
): Promise<LineSpec[]> {
  const { warm, load } = bench;
  const { warmup, decisions, concurrency, batchSize, batchConcurrency } = bench.options;
  const { remote, seed } = api;
  const http = jsonClient(api.url, api.adminKey, Math.max(concurrency, batchConcurrency));
  bench.stopAll.unshift(async () => http.close());
  const lines: LineSpec[] = [];
  if (bench.runs(ids.single)) {
    await seed(`${ids.prefix}h`);
    const warmInputs = governor.inputsOf(warm, `w${ids.prefix}h`, warmup);
    const inputs = governor.inputsOf(load, `${ids.prefix}h`, decisions);
    lines.push({
      id: ids.single,
      label: `${ids.label}, 1 message/request`,
      tasks: { warm: warmup, run: decisions },
      conc: concurrency,
      task: async (phase, i) => {
        const body = phase === 'warm' ? warmInputs[i] : inputs[i];
        const response = await http.post<Answer>('/v1/messages', body);
        return [response.status === 200 ? response.body.decision : 'error'];
      },
      remote,
      per: 'request',
    });
  }
  const batchLine = async (
    id: LineId,
    prefix: string,
    inFlight: number,
    label: string,
  ): Promise<LineSpec> => {
    await seed(prefix);
    const chunks = (all: MessageInput[]) =>
      Array.from({ length: Math.ceil(all.length / batchSize) }, (_, i) =>
        all.slice(i * batchSize, (i + 1) * batchSize),
      );
    const warmBatches = chunks(governor.inputsOf(warm, `w${prefix}`, warmup));
    const batches = chunks(governor.inputsOf(load, prefix, decisions));
    return {
      id,
      label,
      tasks: { warm: warmBatches.length, run: batches.length },
      conc: inFlight,
      task: async (phase, i) => {
        const messages = (phase === 'warm' ? warmBatches[i] : batches[i]) as MessageInput[];
        const response = await http.post<{ results: Answer[] }>('/v1/messages/batch', { messages });
        if (response.status !== 200) return messages.map(() => 'error');
        return response.body.results.map((r) => (r.status === undefined ? r.decision : 'error'));
      },
      remote,
      per: `request of ${batchSize}`,
    };
  };
  if (bench.runs(ids.batch))
    lines.push(
      await batchLine(ids.batch, `${ids.prefix}b`, batchConcurrency, `${ids.label}, batch of ${batchSize}`),
    );
  // As many batches in flight as the API has instances: a platform sending a campaign in parallel.
  if (ids.batches && bench.runs(ids.batches.id) && ids.batches.instances > batchConcurrency)
    lines.push(
      await batchLine(
        ids.batches.id,
        `${ids.prefix}p`,
        ids.batches.instances,
        `${ids.label}, ${ids.batches.instances} × ${batchSize} in flight`,
      ),
    );
  return lines;
}

/** The bench's API process: its calls counted there, its CPU time read there. */
export async function governorHttpLines(bench: Bench, governor: Governor): Promise<LineSpec[]> {
  type HttpReady = { url: string; adminKey: string };
  const server = await startChild<HttpReady>('./http-process.ts', [JSON.stringify(bench.engine.ready.env)]);
  bench.stopAll.unshift(() => server.stop());
  const remote: Remote = {
    reset: () => server.ask<unknown>({ type: 'reset' }).then(() => {}),
    stats: () => server.ask<{ snapshot: MeterSnapshot; cpuMicros: number }>({ type: 'stats' }),
  };
  const { url, adminKey } = server.ready;
  const ids = { single: 'single', batch: 'batch', prefix: '', label: 'governor HTTP' } as const;
  return httpLines(bench, governor, { url, adminKey, remote, seed: governor.seedPreferences }, ids);
}

/** The body of a batch request of --batch-size messages of the workload, for the API's billed requests. */
export const batchRequestBytes = (bench: Bench): number =>
  Buffer.byteLength(
    JSON.stringify({
      messages: Array.from({ length: bench.options.batchSize }, (_, i) =>
        bench.load.message('cost', i % bench.options.decisions, Date.now()),
      ),
    }),
  );
