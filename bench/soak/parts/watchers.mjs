// SSE watchers: `GET /api/v0/kiln/streams/:id/watch` on documents of the pool, opened and closed all along (churn).
// A watcher reads its document's states as the writes part changes it and closes after a few, or when its document
// leaves the pool, or after a number of writes to the node, or at the end of the phase — whichever comes first, so
// that nothing here waits on the clock. Some are slow readers: after the first state they stop reading until their
// document leaves the pool (or the phase ends), on the large documents when there are some, so that the states the
// daemon writes fill the connection and its event stream meets backpressure.
import { parseEventStream } from '@kiln/http-client'

/**
 * The watchers part: `workers` watchers open at a time; `slowShare` of them are slow readers; the others read 1 to
 * `maxEvents` states, and stay open for at most `lifetimeWrites` acknowledged writes to the node.
 */
export function watchers ({ workers = 8, slowShare = 0.25, maxEvents = 4, lifetimeWrites = 50 } = {}) {
  const name = 'watchers'
  return {
    name,
    workers,
    async step ({ client, pool, random, signal }) {
      const slow = random() < slowShare
      const entry = pool.pick(slow ? (e) => e.large === true : undefined)
      if (entry === undefined) return await client.request(name, 'GET', '/api/v0/node/healthcheck', { as: 'text' })
      const wanted = 1 + Math.floor(random() * maxEvents)
      const stream = await client.open(name, `/api/v0/kiln/streams/${entry.id}/watch`)
      if (stream === undefined) return
      client.count(name, slow ? 'opened.slow' : 'opened')

      // Why the watcher ends, when it ends before it has read its states: the first reason wins. Ending closes the
      // connection, which ends the reading loop below at once, with an error it then ignores.
      const ending = new AbortController()
      const ended = new Promise((resolve) => {
        ending.signal.addEventListener('abort', () => { void stream.close(); resolve() }, { once: true })
      })
      const end = (reason) => { if (!ending.signal.aborted) ending.abort(reason) }
      let writesSinceOpen = 0
      const stopListening = pool.listen(entry.id, (what) => { if (what === 'retired') end('retired') })
      const stopCounting = slow ? () => {} : pool.onWrite(() => { if (++writesSinceOpen >= lifetimeWrites) end('lifetime') })
      const onPhaseEnd = () => { end('phase') }
      signal.addEventListener('abort', onPhaseEnd, { once: true })
      if (signal.aborted) end('phase')

      let events = 0
      try {
        for await (const event of parseEventStream(stream.response)) {
          if (event.event !== 'state') continue
          const data = JSON.parse(event.data)
          if (data.streamId !== entry.id || typeof data.state?.log?.length !== 'number') {
            client.error(name, `the event stream of ${entry.id} sent ${event.data.slice(0, 200)}`)
          }
          events++
          if (slow) {
            // Reads nothing more until it ends: what the daemon writes waits in the connection, then on the daemon.
            await ended
            break
          }
          if (events >= wanted) break
        }
        if (events < wanted && !ending.signal.aborted) client.error(name, `the event stream of ${entry.id} ended after ${events} of ${wanted} states`)
      } catch (err) {
        if (!ending.signal.aborted) client.error(name, `the event stream of ${entry.id} failed: ${err.message}`)
      } finally {
        stopListening()
        stopCounting()
        signal.removeEventListener('abort', onPhaseEnd)
        client.count(name, 'events', events)
        client.count(name, `closed.${ending.signal.aborted ? ending.signal.reason : 'read'}`)
        await stream.close()
      }
    }
  }
}
