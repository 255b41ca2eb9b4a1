/** A lean JSON client for the local API: node:http with kept-alive connections, one per worker. */
import { Agent, request } from 'node:http';

export interface JsonClient {
  post<T>(path: string, body: unknown): Promise<{ status: number; body: T }>;
  close(): void;
}

export function jsonClient(baseUrl: string, apiKey: string, connections: number): JsonClient {
  const url = new URL(baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  return {
    post<T>(path: string, body: unknown) {
      const payload = Buffer.from(JSON.stringify(body));
      return new Promise<{ status: number; body: T }>((resolve, reject) => {
        const req = request(
          {
            agent,
            host: url.hostname,
            port: url.port,
            path,
            method: 'POST',
            headers: {
              authorization: `Bearer ${apiKey}`,
              'content-type': 'application/json',
              'content-length': payload.length,
            },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('end', () => {
              try {
                resolve({
                  status: res.statusCode ?? 0,
                  body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as T,
                });
              } catch (error) {
                reject(error);
              }
            });
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(payload);
      });
    },
    close: () => agent.destroy(),
  };
}
