/**
 * Work done customer by customer: one write per customer's item, many customers at once, each
 * customer's items in the order they came.
 */

/** How many customers' items one batch (a send request, a release round) writes at once. */
export const CUSTOMER_CONCURRENCY = 32;

export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  if (items.length === 1) return [await fn(items[0] as T)];
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * Runs `run` once per group of `items` with the same key (a customer, or a customer's life), groups in
 * the order their first item came, CUSTOMER_CONCURRENCY at once.
 */
export async function perCustomer<T>(
  items: readonly T[],
  keyOf: (item: T) => string,
  run: (group: T[], key: string) => Promise<void>,
): Promise<void> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  await mapLimit([...groups], CUSTOMER_CONCURRENCY, ([key, group]) => run(group, key));
}
