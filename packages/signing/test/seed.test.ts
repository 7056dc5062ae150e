import { describe, it, expect } from 'vitest'
import { randomSeed, seedFromHex, seedToHex, SEED_LENGTH } from '@kiln/signing'
import { expectKilnError } from './fixtures/jws.js'

const hex = '9085d2bef69286a6cbb51623c8fa258629945cd55ca705cc4e66700396894e0c'

describe('seeds', () => {
  it('makes random 32-byte seeds that differ', () => {
    const a = randomSeed()
    expect(a).toBeInstanceOf(Uint8Array)
    expect(a).toHaveLength(SEED_LENGTH)
    expect(randomSeed()).not.toEqual(a)
  })

  it('round-trips a seed through hex', () => {
    const seed = randomSeed()
    expect(seedToHex(seed)).toMatch(/^[0-9a-f]{64}$/)
    expect(seedFromHex(seedToHex(seed))).toEqual(seed)
  })

  it('reads hex with a 0x prefix, in upper case, and with surrounding whitespace', () => {
    const expected = seedFromHex(hex)
    expect(seedFromHex(`0x${hex}`)).toEqual(expected)
    expect(seedFromHex(hex.toUpperCase())).toEqual(expected)
    expect(seedFromHex(` ${hex}\n`)).toEqual(expected)
    expect(seedToHex(expected)).toBe(hex)
  })

  it('rejects hex of the wrong length with InvalidKeyError naming the length', async () => {
    for (const bad of ['', hex.slice(2), `${hex}00`, hex.slice(1)]) {
      const err = await expectKilnError(Promise.resolve().then(() => seedFromHex(bad)), 'InvalidKeyError')
      expect(err.message).toContain(String(bad.length))
    }
  })

  it('rejects characters that are not hex without echoing the secret', async () => {
    const bad = `${hex.slice(0, 62)}zz`
    const err = await expectKilnError(Promise.resolve().then(() => seedFromHex(bad)), 'InvalidKeyError')
    expect(err.message).not.toContain(hex.slice(0, 16))
  })

  it('refuses to format a seed that is not 32 bytes', async () => {
    await expectKilnError(Promise.resolve().then(() => seedToHex(new Uint8Array(31))), 'InvalidKeyError')
  })
})
