/**
 * Governor through `npm start` itself, as a child (a free port, a temporary data folder), with its own
 * engines, API instances and delivery workers, driven over HTTP: what a user of the local stack gets. Its
 * preferences and policy go through the API; its CPU time is read per process from /proc.
 */

import { type StackProcess, startNpmStart } from '../lib/npm-start.ts';
import { BENCH_POLICY, customerId } from '../lib/workload.ts';
import type { Bench, LineSpec, Remote } from './bench.ts';
import type { Governor } from './governor.ts';
import { httpLines } from './http.ts';

/** CPU time (µs) and process count of each role of `npm start`'s processes. */
const stackCpu = (processes: StackProcess[]) => {
  const byRole = new Map<string, { micros: number; processes: number }>();
  for (const p of processes) {
    const role = byRole.get(p.role) ?? { micros: 0, processes: 0 };
    role.micros += p.cpuMicros;
    role.processes++;
    byRole.set(p.role, role);
  }
  return byRole;
};

export async function npmStartLines(bench: Bench, governor: Governor): Promise<LineSpec[]> {
  const { concurrency, instances } = bench.options;
  process.stderr.write('  starting npm start…\n');
  const stack = await startNpmStart({ args: instances ? ['--instances', instances] : [] });
  bench.stopAll.unshift(async () => {
    await stack.stop();
    if (!stack.stoppedCleanly()) console.error(`npm start did not stop cleanly:\n${stack.output.join('')}`);
  });
  const call = async (method: string, path: string, body: unknown) => {
    const response = await fetch(new URL(path, stack.url), {
      method,
      headers: {
        authorization: `Bearer ${stack.adminKey}`,
        'content-type': 'application/json',
        'if-match': '*',
      },
      body: JSON.stringify(body),
    });
    if (response.status !== 200)
      throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  };
  await call('PUT', '/v1/policy', BENCH_POLICY);
  const seedOverHttp = async (line: string) => {
    await governor.mapLimit([...bench.preferences], concurrency, ([index, p]) =>
      call('PUT', `/v1/customers/${customerId(line, index)}/preferences`, p),
    );
  };
  let before = stackCpu(stack.processes());
  let deliveredBefore = 0;
  const remote: Remote = {
    async reset() {
      before = stackCpu(stack.processes());
      deliveredBefore = await stack.delivered();
    },
    async stats() {
      const now = stackCpu(stack.processes());
      const delta = (role: string) => (now.get(role)?.micros ?? 0) - (before.get(role)?.micros ?? 0);
      const delivered = (await stack.delivered()) - deliveredBefore;
      return {
        cpuMicros: delta('api'),
        enginesCpuMicros: delta('engines'),
        workersCpuMicros: delta('workers'),
        apiProcesses: now.get('api')?.processes,
        delivered,
      };
    },
    async settle() {
      // Delivery is done when the outbox stops growing for 1.5 s (at most two minutes).
      const started = performance.now();
      let last = await stack.delivered();
      let still = 0;
      while (still < 1500 && performance.now() - started < 120_000) {
        await new Promise((r) => setTimeout(r, 250));
        const now = await stack.delivered();
        still = now === last ? still + 250 : 0;
        last = now;
      }
      return Math.max(0, performance.now() - started - still);
    },
  };
  const apiInstances = stack.processes().filter((p) => p.role === 'api').length;
  const ids = {
    single: 'start-single',
    batch: 'start-batch',
    prefix: 's',
    label: 'npm start',
    batches: { id: 'start-batches', instances: apiInstances },
  } as const;
  return httpLines(
    bench,
    governor,
    { url: stack.url, adminKey: stack.adminKey, remote, seed: seedOverHttp },
    ids,
  );
}
