/**
 * Kiln's tile doctype (code 0, Ceramic's `tile`): documents whose content is a JSON object, created by a genesis
 * signed by their controller (or unsigned and empty, for deterministic tiles) and changed by signed JSON-Patch
 * updates. `tile()` is the plugin a node registers; `makeGenesis` and `makeUpdate` build the commits a client sends.
 * @packageDocumentation
 */
export { tile, type TileInit } from './tile.js'
export { makeGenesis, type TileGenesisOptions, type TileSigner, type UnsignedGenesis } from './genesis.js'
export { makePatchUpdate, makeUpdate, type TileUpdateOptions } from './update.js'
export { TILE_CODE, TILE_NAME } from './constants.js'
export { DEFAULT_MAX_CONTENT_BYTES, type TileContent } from './content.js'
