import { encodeRecord } from '@kiln/codec'
import { compareBytes, pickWinningBranch } from '@kiln/core'
import { LogEntryType, type LogEntry } from '@kiln/interface'
import type { CID } from 'multiformats/cid'
import { describe, expect, it } from 'vitest'

const cids: CID[] = []
for (let i = 0; i < 40; i++) cids.push((await encodeRecord({ commit: i })).cid)

const genesis: LogEntry = { cid: cids[0]!, type: LogEntryType.GENESIS }
const signed = (i: number): LogEntry => ({ cid: cids[i]!, type: LogEntryType.SIGNED })
const anchor = (i: number, timestamp?: number): LogEntry => timestamp === undefined
  ? { cid: cids[i]!, type: LogEntryType.ANCHOR }
  : { cid: cids[i]!, type: LogEntryType.ANCHOR, timestamp }

/** Asserts that `winner` beats `loser` whichever side each is given on. */
function expectWinner (winner: LogEntry[], loser: LogEntry[]): void {
  expect(pickWinningBranch(winner, loser)).toBe('a')
  expect(pickWinningBranch(loser, winner)).toBe('b')
}

describe('pickWinningBranch', () => {
  it('prefers the branch with an anchor over a longer one without', () => {
    expectWinner([genesis, signed(1), anchor(2, 100)], [genesis, signed(3), signed(4), signed(5)])
  })

  it('prefers the branch whose first anchor is earlier', () => {
    expectWinner([genesis, signed(1), signed(2), anchor(3, 100)], [genesis, signed(4), anchor(5, 200)])
  })

  it('prefers the earlier first anchor even when the other branch anchors again later', () => {
    expectWinner([genesis, signed(1), anchor(2, 100)], [genesis, signed(3), anchor(4, 150), signed(5), anchor(6, 160)])
  })

  it('falls back to length when both first anchors have the same timestamp', () => {
    expectWinner([genesis, signed(1), signed(2), anchor(3, 100)], [genesis, signed(4), anchor(5, 100)])
  })

  it('counts length only up to and including the first anchor', () => {
    // The first has 2 entries up to its anchor; the second 3 up to its anchor, then more that do not count.
    expectWinner([genesis, signed(1), signed(2), anchor(3, 100)], [genesis, signed(4), anchor(5, 100), signed(6), signed(7), signed(8)])
  })

  it('prefers the longer branch when neither is anchored', () => {
    expectWinner([genesis, signed(1), signed(2)], [genesis, signed(3)])
  })

  it('breaks a tie of equal unanchored lengths by the lower tip CID bytes', () => {
    const [low, high] = compareBytes(cids[1]!.bytes, cids[2]!.bytes) < 0 ? [1, 2] : [2, 1]
    expectWinner([genesis, signed(low)], [genesis, signed(high)])
  })

  it('breaks a tie of equal anchored time and length by the lower tip CID bytes', () => {
    const [low, high] = compareBytes(cids[6]!.bytes, cids[7]!.bytes) < 0 ? [6, 7] : [7, 6]
    expectWinner([genesis, signed(1), anchor(2, 50), signed(low)], [genesis, signed(3), anchor(4, 50), signed(high)])
  })

  it('compares only what follows the common ancestor', () => {
    const shared = [genesis, signed(1), anchor(2, 10), signed(3), signed(4)]
    expectWinner([...shared, signed(5), signed(6)], [...shared, signed(7)])
  })

  it('picks the extension when one log is a prefix of the other', () => {
    expectWinner([genesis, signed(1), signed(2)], [genesis, signed(1)])
    expectWinner([genesis, signed(1), anchor(2, 5)], [genesis, signed(1)])
  })

  it('treats an anchor without a timestamp as later than any timed anchor', () => {
    expectWinner([genesis, signed(1), anchor(2, 999999)], [genesis, signed(3), anchor(4)])
  })

  it('returns the first of two equal logs', () => {
    expect(pickWinningBranch([genesis, signed(1)], [genesis, signed(1)])).toBe('a')
  })
})

describe('compareBytes', () => {
  it('orders bytes lexicographically, not as decimal strings', () => {
    // Ceramic's comparison of comma-joined decimals puts [9] after [10]; bytes put 9 first.
    expect(compareBytes(new Uint8Array([1, 9]), new Uint8Array([1, 10]))).toBeLessThan(0)
    expect(compareBytes(new Uint8Array([2]), new Uint8Array([1, 255]))).toBeGreaterThan(0)
    expect(compareBytes(new Uint8Array([1]), new Uint8Array([1, 0]))).toBeLessThan(0)
    expect(compareBytes(new Uint8Array([7, 7]), new Uint8Array([7, 7]))).toBe(0)
  })
})
