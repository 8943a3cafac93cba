// Following the server: an event stream that says when the cluster (or a lab's counters) changed.
// The browser's EventSource reconnects on its own when the stream drops.
export interface LiveCallbacks {
  onModel(version: number): void;
  onCounters(): void;
}

export function followEvents(callbacks: LiveCallbacks): EventSource {
  const events = new EventSource('/api/events');
  events.addEventListener('model', (e) => callbacks.onModel((JSON.parse((e as MessageEvent<string>).data) as { version: number }).version));
  events.addEventListener('counters', () => callbacks.onCounters());
  return events;
}
