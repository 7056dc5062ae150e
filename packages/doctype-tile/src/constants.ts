/** The DocID type code of tiles: Ceramic's TileDocument code. */
export const TILE_CODE = 0

/** The doctype name of tiles: Ceramic's, which its clients translate back to the code. */
export const TILE_NAME = 'tile'

/**
 * The DocID type code of schema documents: `@kiln/doctype-schema`'s `SCHEMA_CODE`, which can never change once documents
 * carry it. Written out here because a doctype never imports another; integration-tests' schemas suite, where tiles
 * follow real schema documents, fails if the two disagree.
 */
export const SCHEMA_DOCTYPE_CODE = 64
