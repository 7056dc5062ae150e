import { SchemaValidationError, type DoctypeContext } from '@kiln/interface'
import type { SchemaValidator } from '@kiln/json'
import { SCHEMA_DOCTYPE_CODE, TILE_CODE } from './constants.js'

/**
 * Loads the content of the schema at `schemaCommitId` through `ctx`. Only a schema document or a tile (whose content
 * is a schema: that is how Ceramic's clients publish them) may serve as a schema; any other doctype is refused with
 * `SchemaValidationError`.
 */
async function loadSchema (schemaCommitId: string, ctx: Pick<DoctypeContext, 'loadDocument' | 'signal'>): Promise<unknown> {
  const state = await ctx.loadDocument(schemaCommitId, { signal: ctx.signal })
  if (state.type !== SCHEMA_DOCTYPE_CODE && state.type !== TILE_CODE) {
    throw new SchemaValidationError(
      `schema ${schemaCommitId} is a document of doctype ${state.type}: a schema must be a schema document (${SCHEMA_DOCTYPE_CODE}) or a tile (${TILE_CODE}) whose content is a JSON Schema`,
      { details: { schema: schemaCommitId, type: state.type } }
    )
  }
  return state.content
}

/**
 * Checks `content` against the schema document that `schema` (a CommitID string, already checked by the header rules)
 * names, loaded through `ctx` at that commit so that every node validates against the same version, and only when
 * the validator has not compiled it yet. Throws `SchemaValidationError` listing the failing paths; a schema document
 * this node cannot find is `DocumentNotFoundError`.
 */
export async function enforceSchema (content: unknown, schema: string | undefined, ctx: DoctypeContext, validator: SchemaValidator): Promise<void> {
  if (schema === undefined) return
  await validator.validateDocument(content, schema, async (schemaCommitId) => await loadSchema(schemaCommitId, ctx))
}
