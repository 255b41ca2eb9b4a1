/**
 * One API instance of `npm start`: the HTTP server in front of the handlers, on the engines the
 * supervisor names, as a Lambda instance of the HTTP functions. Under the supervisor's `cluster` every
 * instance listens on the same port (the supervisor hands each new connection to the next instance);
 * forked on its own (tests), it listens on PORT (0: a free port). On `stop` it finishes its in-flight
 * requests, writes its decision counts and closes its journal segment.
 */
import './clock-offset.ts';
import { runChild } from './child.ts';
import type { EngineEndpoints } from './engines.ts';
import { localEnvironment, startApi } from './stack.ts';

process.title = 'governor-api';

runChild({
  async start(message) {
    await localEnvironment(String(message.dataDir), message.engines as EngineEndpoints);
    const api = await startApi({
      port: Number(message.port ?? 0),
      logRequests: message.logRequests === true,
    });
    return { ready: { url: api.url }, stop: () => api.stop() };
  },
});
