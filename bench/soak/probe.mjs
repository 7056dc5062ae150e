// Loaded into the daemon the soak starts (`node --expose-gc --import probe.mjs kiln.js daemon …`), never into a daemon
// a user runs: Kiln itself has no diagnostics hook. It answers the soak's questions over the IPC channel the soak
// opened when it spawned the daemon, which nothing else can reach: no port, no route, no flag of `kiln daemon`.
//
//   {type: 'measure', gc}  → the process's memory (after a full GC when `gc`) and its active libuv resources
//   {type: 'settled'}      → answered once the daemon has no HTTP connection open (every socket it accepted closed)
//   {type: 'snapshot', path} → writes a V8 heap snapshot there, for a leak hunt
import { subscribe } from 'node:diagnostics_channel'
import { writeHeapSnapshot } from 'node:v8'

if (typeof process.send === 'function') {
  /** Every socket the daemon's servers accepted and that has not closed yet. */
  const sockets = new Set()
  /** Requests waiting for `sockets` to be empty. */
  let settledWaiters = []
  const wakeSettled = () => {
    if (sockets.size > 0) return
    for (const id of settledWaiters) reply(id, { sockets: 0 })
    settledWaiters = []
  }
  subscribe('net.server.socket', ({ socket }) => {
    sockets.add(socket)
    socket.once('close', () => { sockets.delete(socket); wakeSettled() })
  })

  const reply = (id, answer) => {
    // The soak may be gone (it was killed): the daemon then stops itself below, nothing to answer.
    if (process.connected) process.send({ id, ...answer })
  }

  const fullGc = () => {
    // Twice: objects kept alive only by finalizers or weak references of the first pass go in the second.
    globalThis.gc?.()
    globalThis.gc?.()
  }

  process.on('message', (message) => {
    try {
      switch (message?.type) {
        case 'measure': {
          if (message.gc === true) fullGc()
          const resources = {}
          for (const name of process.getActiveResourcesInfo()) resources[name] = (resources[name] ?? 0) + 1
          reply(message.id, { memory: process.memoryUsage(), resources, sockets: sockets.size, gc: typeof globalThis.gc === 'function' })
          break
        }
        case 'settled':
          settledWaiters.push(message.id)
          wakeSettled()
          break
        case 'snapshot':
          fullGc()
          reply(message.id, { path: writeHeapSnapshot(message.path) })
          break
        default:
          reply(message?.id, { error: `unknown probe message ${JSON.stringify(message?.type)}` })
      }
    } catch (err) {
      reply(message?.id, { error: String(err?.stack ?? err) })
    }
  })
  // The channel must not keep the daemon alive: it stops on SIGTERM as it does without the probe.
  process.channel?.unref()
  // The soak went away without stopping the daemon (killed, crashed): stop as if told to, so that nothing is left.
  process.on('disconnect', () => { process.kill(process.pid, 'SIGTERM') })
}
