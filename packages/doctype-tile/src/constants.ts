/** The DocID type code of tiles: Ceramic's TileDocument code. */
export const TILE_CODE = 0

/** The doctype name of tiles: Ceramic's, which its clients translate back to the code. */
export const TILE_NAME = 'tile'
