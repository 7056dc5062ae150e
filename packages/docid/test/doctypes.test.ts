import { CERAMIC_DOCTYPES, CommitID, DocID, DoctypeRegistry, doctypes } from '@kiln/docid'
import { StreamType } from '@ceramicnetwork/streamid'
import { describe, expect, it } from 'vitest'
import { thrown } from './fixtures/vectors.js'

const GENESIS = 'bagcqcerakszw2vsovxznyp5gfnpdj4cqm2xiv76yd24wkjewhhykovorwo6a'

describe('the doctype registry', () => {
  it('is preloaded with Ceramic\'s codes and exact names, and Kiln\'s schema and rules doctypes', () => {
    expect(doctypes.entries()).toEqual([
      { code: 0, name: 'tile' },
      { code: 1, name: 'caip10-link' },
      { code: 2, name: 'model' },
      { code: 3, name: 'MID' },
      { code: 4, name: 'UNLOADABLE' },
      { code: 64, name: 'schema' },
      { code: 65, name: 'rules' }
    ])
    for (const { code, name } of CERAMIC_DOCTYPES) {
      expect(StreamType.nameByCode(code)).toBe(name)
      expect(StreamType.codeByName(name)).toBe(code)
      expect(doctypes.nameOf(code)).toBe(name)
      expect(doctypes.codeOf(name)).toBe(code)
    }
  })

  it('rejects a second registration of a taken code, naming both', () => {
    const err = thrown(() => doctypes.register({ code: 1, name: 'account-link' }))
    expect(err.name).toBe('DuplicateRegistrationError')
    expect(err.message).toContain('caip10-link')
    expect(err.details).toMatchObject({ code: 1, name: 'account-link', registered: 'caip10-link' })
  })

  it('keeps Ceramic\'s codes 2 to 4 reserved', () => {
    for (const code of [2, 3, 4]) {
      expect(thrown(() => doctypes.register({ code, name: `kiln-${code}` })).name).toBe('DuplicateRegistrationError')
    }
  })

  it('rejects a second registration of a taken name', () => {
    const err = thrown(() => doctypes.register({ code: 77, name: 'tile' }))
    expect(err.name).toBe('DuplicateRegistrationError')
    expect(err.message).toContain('tile')
    expect(doctypes.has(77)).toBe(false)
  })

  it('throws UnknownDoctypeError for a name or code nobody registered', () => {
    expect(thrown(() => doctypes.codeOf('Tile')).name).toBe('UnknownDoctypeError')
    expect(thrown(() => doctypes.nameOf(99)).name).toBe('UnknownDoctypeError')
    expect(thrown(() => new DocID('no-such-doctype', GENESIS)).name).toBe('UnknownDoctypeError')
    expect(thrown(() => new CommitID('no-such-doctype', GENESIS, 0)).name).toBe('UnknownDoctypeError')
    expect(doctypes.find(99)).toBeUndefined()
    expect(doctypes.find('tile')).toEqual({ code: 0, name: 'tile' })
  })

  it('parses an unknown code, and its typeName throws UnknownDoctypeError until the code is registered', () => {
    const id = new DocID(1234, GENESIS)
    const parsed = DocID.fromString(id.toString())
    expect(parsed.type).toBe(1234)
    const err = thrown(() => parsed.typeName)
    expect(err.name).toBe('UnknownDoctypeError')
    expect(err.message).toContain('1234')
    doctypes.register({ code: 1234, name: 'third-party-late' })
    expect(parsed.typeName).toBe('third-party-late')
  })

  it('registers a third-party doctype and uses it by name and code', () => {
    const entry = doctypes.register({ code: 1000, name: 'acme-ledger' })
    expect(Object.isFrozen(entry)).toBe(true)
    const id = new DocID('acme-ledger', GENESIS)
    expect(id.type).toBe(1000)
    expect(id.typeName).toBe('acme-ledger')
    const commit = CommitID.fromString(id.atCommit(0).toString())
    expect(commit.typeName).toBe('acme-ledger')
    expect(new DocID(1000, GENESIS).equals(id)).toBe(true)
    expect(thrown(() => doctypes.register({ code: 1001, name: 'acme-ledger' })).name).toBe('DuplicateRegistrationError')
  })

  it('rejects codes that cannot appear in a DocID and empty names', () => {
    const registry = new DoctypeRegistry()
    expect(thrown(() => registry.register({ code: -1, name: 'negative' })).name).toBe('InvalidDocIDError')
    expect(thrown(() => registry.register({ code: 0.5, name: 'fraction' })).name).toBe('InvalidDocIDError')
    expect(thrown(() => registry.register({ code: 9, name: '' })).name).toBe('InvalidDocIDError')
    expect(registry.entries()).toEqual([])
  })

  it('keeps separate registries separate', () => {
    const registry = new DoctypeRegistry([{ code: 0, name: 'custom-tile' }])
    expect(registry.nameOf(0)).toBe('custom-tile')
    expect(doctypes.nameOf(0)).toBe('tile')
    expect(registry.has('tile')).toBe(false)
  })
})
