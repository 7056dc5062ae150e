// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title KilnAnchor
/// @notice Puts Kiln Merkle roots on chain. The root is read back from the calldata of the transaction, so the call
/// itself is what matters; the event lets an indexer find anchors without tracing calls.
/// Anyone may anchor: an anchor only proves that a root existed by the time of its block, whoever sent it.
contract KilnAnchor {
    /// @notice Emitted once per anchored root.
    event DidAnchor(address indexed sender, bytes32 root);

    /// @notice Anchors `root`: the sha2-256 digest of a dag-cbor Merkle root.
    function anchor(bytes32 root) external {
        emit DidAnchor(msg.sender, root);
    }
}
