// Starts a dry-run worker thread (worker-runner.ts): loads TypeScript through tsx when the worker's
// module is TypeScript (the local stack runs from source), then the module itself.
import { workerData } from 'node:worker_threads';

if (workerData.module.endsWith('.ts')) {
  const { register } = await import('tsx/esm/api');
  register();
}
await import(workerData.module);
