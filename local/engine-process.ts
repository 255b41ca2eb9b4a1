/**
 * The engines of `npm start` in a process of their own: dynalite (LevelDB under the data folder) and
 * fauxqs, so that the API instances and the workers talk to them over loopback as Lambda talks to
 * DynamoDB and SQS, each on its own core. Announces their endpoints; on `stop`, or when the supervisor
 * is gone, closes them (LevelDB flushed and closed) and exits.
 */
import { runChild } from './child.ts';
import { type EngineEndpoints, startEngines } from './engines.ts';

process.title = 'governor-engines';

runChild({
  async start(message) {
    const engines = await startEngines({
      dataDir: String(message.dataDir),
      // A stack whose supervisor was just killed may still be closing its engines on this folder.
      lockWaitMs: Number(message.lockWaitMs ?? 10_000),
    });
    const { stop, ...endpoints } = engines;
    const ready: { engines: EngineEndpoints } = { engines: endpoints };
    return { ready, stop };
  },
  async orphaned(started) {
    await started?.stop();
  },
});
