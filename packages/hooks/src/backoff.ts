/** How long to wait before retry `attempt` (1 after the first failure): doubling from `baseMs`, at most `maxMs`, with up to 20% jitter. */
export function retryDelay (attempt: number, backoff: { baseMs: number, maxMs: number }, random: () => number): number {
  const doubled = backoff.baseMs * 2 ** Math.min(attempt - 1, 40)
  return Math.min(backoff.maxMs, Math.round(doubled * (1 + 0.2 * random())))
}
