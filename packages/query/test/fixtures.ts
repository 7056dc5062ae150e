import { DocID } from '@kiln/docid'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'

/** DocIDs and CommitIDs made from fixed bytes, the same on every run. */
export async function fixedIds (): Promise<{ docs: string[], commits: string[] }> {
  const cid = async (label: string): Promise<CID> => CID.createV1(0x71, await sha256.digest(new TextEncoder().encode(label)))
  const docs: string[] = []
  const commits: string[] = []
  for (const [i, type] of [0, 0, 1, 64].entries()) {
    const doc = new DocID(type, await cid(`doc ${i}`))
    docs.push(doc.toString())
    commits.push(doc.atCommit(await cid(`commit ${i}`)).toString())
  }
  return { docs, commits }
}

const DOCTYPES: Record<string, number> = { tile: 0, 'caip10-link': 1, schema: 64 }

/** The doctype lookup the tests give parseQuery: three known doctypes, by name or code. */
export function doctypeCode (nameOrCode: string | number): number {
  if (typeof nameOrCode === 'number' && Object.values(DOCTYPES).includes(nameOrCode)) return nameOrCode
  if (typeof nameOrCode === 'string' && Object.hasOwn(DOCTYPES, nameOrCode)) return DOCTYPES[nameOrCode]!
  throw new RangeError(`unknown doctype ${String(nameOrCode)}`)
}
