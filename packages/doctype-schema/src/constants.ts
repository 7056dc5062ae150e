/**
 * The DocID type code of schema documents. Ceramic's registry takes 0–4 (tile, caip10-link, model, MID, UNLOADABLE)
 * and may grow upwards from there; 64 (0x40) leaves that room, is still one varint byte, and no Kiln doctype or
 * example uses it (the example counter is 1042).
 */
export const SCHEMA_CODE = 64

/** The doctype name of schema documents (a Kiln name: Ceramic's clients do not know it). */
export const SCHEMA_NAME = 'schema'

/** Default limit on a schema document's content: 256 KiB of its JSON encoding, as for tiles. */
export const DEFAULT_MAX_SCHEMA_BYTES = 256 * 1024
