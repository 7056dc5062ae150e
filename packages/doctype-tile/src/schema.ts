import type { DoctypeContext } from '@kiln/interface'

/**
 * Checks `content` against the schema document that `schema` (a CommitID string) names. Not enforced yet: tiles
 * record `metadata.schema` and pass here after every commit, so enforcement is a change to this function only.
 */
export async function enforceSchema (_content: unknown, schema: string | undefined, _ctx: DoctypeContext): Promise<void> {
  if (schema === undefined) return
  // The schema issue fills this in: `const doc = await ctx.loadDocument(schema, { signal: ctx.signal })` loads the
  // schema document at its pinned commit (so every node validates against the same version), then validate `content`
  // against `doc.content` and throw SchemaValidationError naming the schema CommitID and the first failing path.
}
