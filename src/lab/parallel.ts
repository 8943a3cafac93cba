// Work over many items a few at a time (processes to start, requests to send). The first failure,
// or the signal, stops the rest from starting; work already under way is waited for, so a caller
// that reports what was done sees all of it.

export async function inParallel<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>, signal?: AbortSignal): Promise<void> {
  let next = 0;
  let failed = false;
  const workers = await Promise.allSettled(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length && !failed && !signal?.aborted) {
        try {
          await work(items[next++]);
        } catch (err) {
          failed = true;
          throw err;
        }
      }
    }),
  );
  const failure = workers.find((w): w is PromiseRejectedResult => w.status === 'rejected');
  if (failure) throw failure.reason;
  signal?.throwIfAborted();
}
