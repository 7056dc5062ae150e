import { docStateToJSON, type DocStateJSON } from '@kiln/codec'
import { doctypes } from '@kiln/docid'
import type { DocState } from '@kiln/interface'
import type { HttpApiNode } from './api.js'

/** A state in Ceramic's JSON form, with the doctype's name from the node's registry (or the DocID table). */
export function stateJSON (registry: HttpApiNode['doctypes'], state: DocState): DocStateJSON {
  const name = registry.has(state.type) ? registry.get(state.type).name : doctypes.find(state.type)?.name
  return docStateToJSON(state, name)
}
