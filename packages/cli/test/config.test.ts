import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DAEMON_DEFAULTS, describeStorage, mergeConfig, readConfigFile } from '@kiln/cli'
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

  it('takes catch-up sync interests by schema, controller, DocID and pins, and refuses a DocID that is none', () => {
    const doc = 'kjzl6cwe1jw145as0el1h6ccdkwzwpw8ctl3arf6zfwvtwz9fnawkbvyd2eimen'
    const fromFile = mergeConfig(DAEMON_DEFAULTS, { syncSchemas: ['k3y52schema'], syncControllers: 'did:key:z6Mkalice', syncDocs: [doc], syncPinned: true }, 'file')
    expect(fromFile).toMatchObject({ syncSchemas: ['k3y52schema'], syncControllers: ['did:key:z6Mkalice'], syncDocs: [doc], syncPinned: true })
    expect(mergeConfig(fromFile, { syncControllers: ['did:key:z6Mkbob'], syncPinned: undefined }, 'option')).toMatchObject({ syncControllers: ['did:key:z6Mkbob'], syncPinned: true })
    for (const bad of [{ syncDocs: ['not-a-docid'] }, { syncSchemas: ['k'.repeat(257)] }, { syncPinned: 'yes' }, { syncControllers: [''] }]) {
      expect(() => mergeConfig(DAEMON_DEFAULTS, bad, 'file')).toThrow(expect.objectContaining({ name: 'ConfigError' }) as Error)
    }
  })

  it('mirrors to a warehouse only when backup is a postgres:// URL, and names the setting otherwise', () => {
    expect(DAEMON_DEFAULTS.backup).toBeUndefined()
    expect(mergeConfig(DAEMON_DEFAULTS, { backup: 'postgres://kiln@warehouse/kiln' }, 'file')).toMatchObject({ backup: 'postgres://kiln@warehouse/kiln' })
    for (const bad of ['mysql://x/y', '', 42]) {
      expect(() => mergeConfig(DAEMON_DEFAULTS, { backup: bad }, 'file')).toThrow(expect.objectContaining({ name: 'ConfigError', details: { field: 'backup' } }) as Error)
    }
  })

  it('stores in LevelDB by default, in PostgreSQL given a postgres URL, and refuses anything else', () => {
    expect(DAEMON_DEFAULTS.storage).toBe('level')
    const url = 'postgres://kiln:secret@db.example:5432/kiln'
    expect(mergeConfig(DAEMON_DEFAULTS, { storage: url }, 'option').storage).toBe(url)
    expect(mergeConfig(DAEMON_DEFAULTS, { storage: 'postgresql://db/kiln' }, 'file').storage).toBe('postgresql://db/kiln')
    expect(describeStorage(url)).toBe('postgres://kiln:***@db.example:5432/kiln')
    for (const bad of ['leveldb', 'mysql://db/kiln', '', 5]) {
      expect(() => mergeConfig(DAEMON_DEFAULTS, { storage: bad }, 'option')).toThrow(expect.objectContaining({ name: 'ConfigError' }) as Error)
    }
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

  it('limits HTTP clients with the API\'s default rates, and takes --rate-limit specs over the config file\'s', () => {
    expect(DAEMON_DEFAULTS.rateLimit).toEqual({})
    const fromFile = mergeConfig(DAEMON_DEFAULTS, { rateLimit: { write: { perSecond: 5, burst: 10 }, eventStreams: false, maxClients: 100 } }, 'file')
    expect(fromFile.rateLimit).toEqual({ write: { perSecond: 5, burst: 10 }, eventStreams: false, maxClients: 100 })
    expect(mergeConfig(fromFile, { rateLimit: ['read=50/200', 'write=off', 'loopback'] }, 'option').rateLimit).toEqual({
      write: false, read: { perSecond: 50, burst: 200 }, eventStreams: false, maxClients: 100, loopback: true
    })
    expect(mergeConfig(fromFile, { rateLimit: ['off'] }, 'option').rateLimit).toBe(false)
    expect(mergeConfig(DAEMON_DEFAULTS, { rateLimit: false }, 'file').rateLimit).toBe(false)
    // A rate given after "off" turns the limits back on, with that rate and the defaults.
    expect(mergeConfig(DAEMON_DEFAULTS, { rateLimit: ['off', 'adminAuth=0.5/5'] }, 'option').rateLimit).toEqual({ adminAuth: { perSecond: 0.5, burst: 5 } })
  })

  it('refuses a malformed rate limit with ConfigError naming the setting', () => {
    const bad: Array<[unknown, string]> = [
      [['write=fast'], 'option rateLimit must be "off", "loopback" or <kind>=<perSecond>/<burst>'],
      [['writes=1/2'], 'with a kind among write, read, adminAuth, eventStreams, got "writes=1/2"'],
      [['write=0/2'], 'option rateLimit write must be {"perSecond": n > 0, "burst": n >= 1} or false'],
      [['write=1/0.5'], 'option rateLimit write must be'],
      [{ write: { perSecond: 1 } }, 'option rateLimit.write must be'],
      [{ write: { perSecond: 1, burst: 2, window: 3 } }, 'option rateLimit.write must be'],
      [{ loopback: 'yes' }, 'option rateLimit has an unknown or mistyped setting "loopback"'],
      [{ maxClients: 0 }, 'option rateLimit.maxClients must be an integer'],
      ['on', 'option rateLimit must be "off", "loopback"'],
      [true, 'option rateLimit must be an object of rates, or false']
    ]
    for (const [rateLimit, message] of bad) {
      expect(() => mergeConfig(DAEMON_DEFAULTS, { rateLimit }, 'option'), JSON.stringify(rateLimit)).toThrow(expect.objectContaining({
        name: 'ConfigError', message: expect.stringContaining(message) as string
      }) as Error)
    }
  })

  it('believes no X-Forwarded-For unless trustProxy names a proxy, a hop count, or true', () => {
    expect(DAEMON_DEFAULTS.trustProxy).toBe(false)
    const trust = (value: unknown, source = 'option'): unknown => mergeConfig(DAEMON_DEFAULTS, { trustProxy: value }, source).trustProxy
    expect([trust('true'), trust('false'), trust('2'), trust('127.0.0.1, 10.0.0.0/8')]).toEqual([true, false, 2, ['127.0.0.1', '10.0.0.0/8']])
    expect([trust(true, 'file'), trust(1, 'file'), trust(['10.0.0.1'], 'file')]).toEqual([true, 1, ['10.0.0.1']])
    for (const bad of [-1, 1.5, '', [1], {}, ',']) {
      expect(() => trust(bad), JSON.stringify(bad)).toThrow(expect.objectContaining({ name: 'ConfigError' }) as Error)
    }
  })

  it('takes the HTTP API\'s body limits and timeouts from the config file', () => {
    expect(DAEMON_DEFAULTS).toMatchObject({ bodyLimit: 1024 * 1024, importBodyLimit: 16 * 1024 * 1024, headersTimeoutMs: 20_000, requestTimeoutMs: 120_000 })
    expect(mergeConfig(DAEMON_DEFAULTS, { importBodyLimit: 4096, headersTimeoutMs: 5000, requestTimeoutMs: 0 }, 'file'))
      .toMatchObject({ importBodyLimit: 4096, headersTimeoutMs: 5000, requestTimeoutMs: 0 })
    for (const bad of [{ importBodyLimit: 10 }, { headersTimeoutMs: 0 }, { requestTimeoutMs: -1 }]) {
      expect(() => mergeConfig(DAEMON_DEFAULTS, bad, 'file'), JSON.stringify(bad)).toThrow(expect.objectContaining({ name: 'ConfigError' }) as Error)
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
