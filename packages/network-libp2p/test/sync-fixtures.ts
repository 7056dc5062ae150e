import { createHash } from 'node:crypto'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { create as digestOf } from 'multiformats/hashes/digest'
import { syncKey } from '../src/index.js'

/** A dag-cbor CID whose digest is sha256 of `label`: deterministic, and cheap enough to make 10,000 of. */
export function cidOf (label: string): CID {
  return CID.create(1, dagCbor.code, digestOf(0x12, createHash('sha256').update(label).digest()))
}

/** The key of commit `height` of document `doc` in `family` of `network`. */
export function keyOf (doc: number, height: number, { network = 'test', family = 'f' }: { network?: string, family?: string } = {}): Uint8Array {
  return syncKey({ network, family, genesis: cidOf(`genesis ${doc}`), height, commit: cidOf(`commit ${doc}/${height}`) })
}

/** `n` keys: documents of 5 commits each. */
export function keysOf (n: number, options?: { network?: string, family?: string }): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => keyOf(Math.floor(i / 5), i % 5, options))
}

/** Hex of a key, for readable comparisons. */
export const hexOf = (key: Uint8Array): string => Buffer.from(key).toString('hex')
