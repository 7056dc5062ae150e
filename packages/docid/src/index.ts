/**
 * DocID and CommitID: the ids of Kiln documents and of their commits, byte for byte Ceramic's StreamID and CommitID
 * (`varint(0xce) ‖ varint(doctype) ‖ genesis CID [‖ 0x00 | commit CID]`, written in multibase base36). Every malformed
 * input throws `InvalidDocIDError`. Doctype codes and names live in the {@link doctypes} registry.
 * @packageDocumentation
 */
export { DocID, isDocID } from './doc-id.js'
export { CommitID, isCommitID } from './commit-id.js'
export { parseDocOrCommitID, isDocOrCommitID, type DocOrCommitID } from './parse.js'
export { doctypes, DoctypeRegistry, CERAMIC_DOCTYPES, KILN_DOCTYPES, type DoctypeEntry } from './doctypes.js'
export { DOCID_CODEC, MAX_STRING_LENGTH } from './wire.js'
