import { StorageError } from '@kiln/interface'
import { browserStorage } from '@kiln/storage-browser'
import { describe, expect, it } from 'vitest'

// What can be checked outside a browser: the options and the error where there is no IndexedDB. The store itself
// runs the compliance suite in headless Chromium (packages/browser/test/browser.test.ts).

describe('browserStorage', () => {
  it('refuses a missing or empty database name with StorageError', () => {
    expect(() => browserStorage({ name: '' })).toThrow(StorageError)
    expect(() => browserStorage({} as { name: string })).toThrow(/browserStorage needs a database name/)
  })

  it('fails to start with StorageError, naming the database, where the platform has no indexedDB', async () => {
    expect(typeof (globalThis as { indexedDB?: unknown }).indexedDB).toBe('undefined')
    const storage = browserStorage({ name: 'no-idb' })({})
    const err = await Promise.resolve().then(async () => { await storage.start?.() }).then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(StorageError)
    expect((err as Error).message).toContain('no-idb')
    expect((err as Error).message).toContain('no indexedDB')
  })
})
