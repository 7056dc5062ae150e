import { resolve } from 'node:path'
import { ESLint } from 'eslint'
import { beforeAll, describe, expect, it } from 'vitest'

const repoRoot = resolve(import.meta.dirname, '..')
const RULE = '@typescript-eslint/no-restricted-imports'

/** Lints `source` with the root eslint config as if it were the file at `path` (relative to the repository root). */
async function restricted (path: string, source: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: repoRoot })
  const [result] = await eslint.lintText(source, { filePath: resolve(repoRoot, path) })
  return (result?.messages ?? []).filter((m) => m.ruleId === RULE).map((m) => m.message)
}

describe('the dependency rule in the root eslint config', () => {
  beforeAll(async () => {
    // the config must load: a syntax error in it would make every case below pass for the wrong reason
    expect(await new ESLint({ cwd: repoRoot }).calculateConfigForFile(resolve(repoRoot, 'packages/core/src/x.ts'))).toHaveProperty(['rules', RULE])
  })

  it('reports a doctype that imports another doctype, and lets it import @kiln/json', async () => {
    const messages = await restricted('packages/doctype-tile/src/fixture.ts', "import { schema } from '@kiln/doctype-schema'\nexport const s = schema\n")
    expect(messages).toHaveLength(1)
    expect(messages[0]).toContain("'@kiln/doctype-schema' import is restricted")
    expect(messages[0]).toContain('packages/doctype-tile may import only @kiln/interface, @kiln/docid, @kiln/codec, @kiln/json')
    expect(await restricted('packages/doctype-tile/src/fixture.ts', "import { cloneJson } from '@kiln/json'\nexport const c = cloneJson\n")).toEqual([])
  })

  it('reports type-only imports and re-exports too: a type is a dependency as well', async () => {
    expect(await restricted('packages/doctype-schema/src/fixture.ts', "import type { TileContent } from '@kiln/doctype-tile'\nexport type T = TileContent\n")).toHaveLength(1)
    expect(await restricted('packages/doctype-schema/src/fixture.ts', "export { tile } from '@kiln/doctype-tile'\n")).toHaveLength(1)
  })

  it('reports core importing a plugin or a front end, and allows its four base packages', async () => {
    for (const name of ['doctype-tile', 'anchor-mock', 'storage-level', 'http-server', 'cli', 'json']) {
      expect(await restricted('packages/core/src/fixture.ts', `import * as m from '@kiln/${name}'\nexport { m }\n`), name).toHaveLength(1)
    }
    const allowed = ['interface', 'docid', 'codec', 'signing'].map((name) => `import * as ${name} from '@kiln/${name}'`).join('\n')
    expect(await restricted('packages/core/src/fixture.ts', `${allowed}\nexport { interface as i, docid, codec, signing }\n`)).toEqual([])
  })

  it('reports interface importing anything of ours, subpaths included', async () => {
    expect(await restricted('packages/interface/src/fixture.ts', "import { x } from '@kiln/docid'\nexport { x }\n")).toHaveLength(1)
    expect(await restricted('packages/interface/src/fixture.ts', "import { y } from '@kiln/interface-tests/doctype'\nexport { y }\n")).toHaveLength(1)
  })

  it('lets the chain anchors share anchor-merkle and signing, but not each other', async () => {
    const ok = "import { buildMerkleTree } from '@kiln/anchor-merkle'\nimport { keyDidSigner } from '@kiln/signing'\nexport { buildMerkleTree, keyDidSigner }\n"
    expect(await restricted('packages/anchor-ethereum/src/fixture.ts', ok)).toEqual([])
    expect(await restricted('packages/anchor-ethereum/src/fixture.ts', "import { mockAnchor } from '@kiln/anchor-mock'\nexport { mockAnchor }\n")).toHaveLength(1)
  })

  it('reports the http-server importing @kiln/core, even for a type', async () => {
    expect(await restricted('packages/http-server/src/fixture.ts', "import type { KilnNode } from '@kiln/core'\nexport type N = KilnNode\n")).toHaveLength(1)
  })

  it('keeps @kiln/core to the CLI files that assemble a node, and heavy chain libraries out of its static imports', async () => {
    expect(await restricted('packages/cli/src/commands/fixture.ts', "import { createNode } from '@kiln/core'\nexport { createNode }\n")).toHaveLength(1)
    expect(await restricted('packages/cli/src/node-assembly.ts', "import { createNode } from '@kiln/core'\nexport { createNode }\n")).toEqual([])
    for (const name of ['ganache', 'ethers', '@kiln/anchor-ethereum', '@kiln/anchor-bitcoin']) {
      expect(await restricted('packages/cli/src/node-assembly.ts', `import * as m from '${name}'\nexport { m }\n`), name).toHaveLength(1)
      expect(await restricted('packages/cli/src/node-assembly.ts', `export async function load (): Promise<unknown> { return await import('${name}') }\n`), name).toEqual([])
    }
    expect(await restricted('packages/cli/src/commands/fixture.ts', "import type { Wallet } from 'ethers'\nexport type W = Wallet\n")).toEqual([])
  })

  it('lets tests import other packages, as devDependencies', async () => {
    expect(await restricted('packages/doctype-tile/test/fixture.test.ts', "import { schema } from '@kiln/doctype-schema'\nexport const s = schema\n")).toEqual([])
  })

  it('applies the doctype rule to the example doctypes', async () => {
    expect(await restricted('examples/custom-doctype/src/fixture.ts', "import { tile } from '@kiln/doctype-tile'\nexport { tile }\n")).toHaveLength(1)
  })
})
