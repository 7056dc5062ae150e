import type { SchemaValidator } from '@kiln/doctype-schema'
import type { DoctypeContext } from '@kiln/interface'

/**
 * Checks `content` against the schema document that `schema` (a CommitID string, already checked by the header rules)
 * names, loaded through `ctx` at that commit so that every node validates against the same version. Throws
 * `SchemaValidationError` listing the failing paths; a schema document this node cannot find is `DocumentNotFoundError`.
 */
export async function enforceSchema (content: unknown, schema: string | undefined, ctx: DoctypeContext, validator: SchemaValidator): Promise<void> {
  if (schema === undefined) return
  await validator.validateDocument(content, schema, ctx)
}
