/** The DocID type code of account links: Ceramic's Caip10Link code. */
export const ACCOUNT_LINK_CODE = 1

/** The doctype name of account links: Ceramic's, which its clients translate back to the code. */
export const ACCOUNT_LINK_NAME = 'caip10-link'

/** The version of Ceramic's LinkProof that Kiln reads and writes (v1 proofs name no CAIP-10 account). */
export const LINK_PROOF_VERSION = 2

/** `type` of a proof signed with an Ethereum key (EIP-191 `personal_sign`), as Ceramic writes it. */
export const ETHEREUM_EOA = 'ethereum-eoa'

/** `type` of a proof signed with a Bitcoin key (BIP-137 message signature): Kiln's, Ceramic has no Bitcoin links. */
export const BITCOIN = 'bitcoin'

/** The proof types Kiln verifies. */
export type LinkProofType = typeof ETHEREUM_EOA | typeof BITCOIN
