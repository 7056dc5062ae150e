import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DueQueue } from '../src/due-queue.js'

describe('the queue of due deliveries', () => {
  it('gives the due keys earliest first, after moves and deletions, as a plain map would', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), key: fc.integer({ min: 0, max: 20 }), at: fc.integer({ min: 0, max: 100 }) }),
      fc.record({ kind: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 20 }) }),
      fc.record({ kind: fc.constant('take' as const), now: fc.integer({ min: 0, max: 100 }) })
    )
    fc.assert(fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
      const queue = new DueQueue()
      const model = new Map<string, number>()
      for (const o of ops) {
        if (o.kind === 'set') { queue.set(String(o.key), o.at); model.set(String(o.key), o.at) }
        if (o.kind === 'delete') { queue.delete(String(o.key)); model.delete(String(o.key)) }
        if (o.kind === 'take') {
          const taken = queue.takeDue(o.now)
          const earliest = Math.min(...model.values())
          if (model.size === 0 || earliest > o.now) {
            expect(taken).toBeUndefined()
          } else {
            expect(model.get(taken!)).toBe(earliest)
            model.delete(taken!)
          }
        }
        expect(queue.size).toBe(model.size)
        expect(queue.peek()?.[0]).toBe(model.size === 0 ? undefined : Math.min(...model.values()))
      }
    }), { seed: 0x6b696c6e, numRuns: 500 })
  })
})
