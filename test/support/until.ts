/**
 * Polls `read` until `done` holds of its value, every 250 ms, and answers that value; past `ms` it fails
 * with what it last read. For e2e tests waiting on the local stack's timers (a bound on liveness, not a
 * lateness check).
 */
export async function until<T>(what: string, read: () => Promise<T>, done: (t: T) => boolean, ms: number) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
