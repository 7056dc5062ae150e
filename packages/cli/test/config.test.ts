import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DAEMON_DEFAULTS, mergeConfig, readConfigFile } from '@kiln/cli'
import { describe, expect, it } from 'vitest'

describe('daemon configuration', () => {
  it('starts from the embedded defaults: 127.0.0.1:7007, ./.kiln, the mock chain', () => {
    expect(DAEMON_DEFAULTS).toMatchObject({ port: 7007, host: '127.0.0.1', dataDir: './.kiln', anchor: ['mock'] })
  })

  it('takes a config file, then flags over it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-config-'))
    const file = join(dir, 'kiln.json')
    writeFileSync(file, JSON.stringify({ port: 8000, adminDids: ['did:key:z6Mkadmin'], anchorIntervalMs: 1000 }))
    const fromFile = mergeConfig(DAEMON_DEFAULTS, readConfigFile(file), 'file')
    expect(fromFile).toMatchObject({ port: 8000, adminDids: ['did:key:z6Mkadmin'], anchorIntervalMs: 1000, host: '127.0.0.1' })
    expect(mergeConfig(fromFile, { port: '9000', host: undefined }, 'option')).toMatchObject({ port: 9000, adminDids: ['did:key:z6Mkadmin'] })
  })

  it('takes several chains, comma-separated or as a list, and none', () => {
    expect(mergeConfig(DAEMON_DEFAULTS, { anchor: 'mock,ethereum-dev' }, 'option').anchor).toEqual(['mock', 'ethereum-dev'])
    expect(mergeConfig(DAEMON_DEFAULTS, { anchor: ['ethereum-dev'] }, 'file').anchor).toEqual(['ethereum-dev'])
    expect(mergeConfig(DAEMON_DEFAULTS, { anchor: 'none' }, 'option').anchor).toEqual([])
    for (const bad of ['mock,mock', 'ethereum,ethereum-dev', 'mock,bitcoin', '']) {
      expect(() => mergeConfig(DAEMON_DEFAULTS, { anchor: bad }, 'option')).toThrow(expect.objectContaining({ name: 'ConfigError' }) as Error)
    }
  })

  it('acknowledges writes only once fsync\'d unless told relaxed, and names the setting of a bad durability', () => {
    expect(DAEMON_DEFAULTS.durability).toBe('strict')
    expect(mergeConfig(DAEMON_DEFAULTS, { durability: 'relaxed' }, 'option').durability).toBe('relaxed')
    expect(mergeConfig(DAEMON_DEFAULTS, { durability: 'strict' }, 'file').durability).toBe('strict')
    for (const bad of ['fast', 'STRICT', '', 1, null, ['strict']]) {
      expect(() => mergeConfig(DAEMON_DEFAULTS, { durability: bad }, 'option')).toThrow(expect.objectContaining({
        name: 'ConfigError',
        message: `option durability must be "strict" (fsync every acknowledged write) or "relaxed" (no fsync), got ${JSON.stringify(bad)}`,
        details: { field: 'durability', value: bad }
      }) as Error)
    }
  })

  it('refuses bad values and unknown settings with ConfigError', () => {
    for (const bad of [{ port: 70000 }, { port: 'eighty' }, { anchor: 'ethereum-mainnet' }, { adminDids: [1] }, { logLevel: 'loud' }, { colour: 'blue' }, { anchorIntervalMs: 0 }]) {
      expect(() => mergeConfig(DAEMON_DEFAULTS, bad, 'file')).toThrow(expect.objectContaining({ name: 'ConfigError' }) as Error)
    }
    const dir = mkdtempSync(join(tmpdir(), 'kiln-config-'))
    writeFileSync(join(dir, 'bad.json'), '{ port: 1 ')
    expect(() => readConfigFile(join(dir, 'bad.json'))).toThrow(expect.objectContaining({ name: 'ConfigError' }) as Error)
    expect(() => readConfigFile(join(dir, 'missing.json'))).toThrow(expect.objectContaining({ name: 'ConfigError' }) as Error)
  })
})
