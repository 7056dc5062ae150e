import { AnchorStatus, anchorStatusName, errorClasses, errorFromWire, InvalidDocIDError, isKilnError, KilnError } from '@kiln/interface'
import { describe, expect, it } from 'vitest'

describe('named errors', () => {
  it('carry their class name as err.name and their details', () => {
    const err = new InvalidDocIDError('bad id "xyz"', { details: { value: 'xyz' } })
    expect(err).toBeInstanceOf(KilnError)
    expect(err).toBeInstanceOf(Error)
    expect(err.name).toBe('InvalidDocIDError')
    expect(err.details).toEqual({ value: 'xyz' })
    expect(isKilnError(err, 'InvalidDocIDError')).toBe(true)
    expect(isKilnError(err, 'CodecError')).toBe(false)
    expect(isKilnError(new Error('plain'))).toBe(false)
  })

  it('register every class under the name its instances carry', () => {
    for (const [name, Class] of Object.entries(errorClasses)) {
      expect(new Class('m').name).toBe(name)
    }
  })

  it('rebuild the same class from the wire form {error, name}', () => {
    for (const name of Object.keys(errorClasses)) {
      const err = errorFromWire({ name, error: `went wrong: ${name}`, details: { value: 1 } })
      expect(err).toBeInstanceOf(errorClasses[name]!)
      expect(err.name).toBe(name)
      expect(err.message).toBe(`went wrong: ${name}`)
      expect(err.details).toEqual({ value: 1 })
    }
  })

  it('keep an unknown name from the wire on a plain KilnError', () => {
    const err = errorFromWire({ name: 'SomethingNewError', error: 'new' })
    expect(err).toBeInstanceOf(KilnError)
    expect(err.name).toBe('SomethingNewError')
    expect(errorFromWire({}).message).toBe('Unknown error')
  })

  it('does not take inherited properties as error names', () => {
    expect(errorFromWire({ name: 'constructor', error: 'x' }).name).toBe('constructor')
    expect(errorFromWire({ name: 'constructor', error: 'x' })).toBeInstanceOf(KilnError)
  })

  it('keeps the cause it was given', () => {
    const cause = new Error('root')
    expect(new KilnError('outer', { cause }).cause).toBe(cause)
  })
})

describe('anchor status', () => {
  it('uses Ceramic numbers and names', () => {
    expect(AnchorStatus).toEqual({ NOT_REQUESTED: 0, PENDING: 1, PROCESSING: 2, ANCHORED: 3, FAILED: 4, REPLACED: 5 })
    expect(anchorStatusName(AnchorStatus.ANCHORED)).toBe('ANCHORED')
    expect(() => anchorStatusName(9 as AnchorStatus)).toThrow(RangeError)
  })
})
