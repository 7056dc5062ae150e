import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DAEMON_DEFAULTS, startDaemon } from '@kiln/cli'
import { createNode } from '@kiln/core'
import { describe, expect, it, vi } from 'vitest'

// The real createNode, watched: the test checks what the daemon asks of it.
vi.mock('@kiln/core', async (importOriginal) => {
  const core = await importOriginal<typeof import('@kiln/core')>()
  return { ...core, createNode: vi.fn(core.createNode) }
})

describe('assembling the daemon', () => {
  it.each(['strict', 'relaxed'] as const)('gives the node the %s durability it was configured with', async (durability) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kiln-assembly-'))
    const daemon = await startDaemon({ ...DAEMON_DEFAULTS, port: 0, anchor: [], dataDir, logLevel: 'silent', durability }, { debug () {}, info () {}, warn () {}, error () {} })
    try {
      expect(vi.mocked(createNode)).toHaveBeenLastCalledWith(expect.objectContaining({ durability }))
    } finally {
      await daemon.stop()
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})
