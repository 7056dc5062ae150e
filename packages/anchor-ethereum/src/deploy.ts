import { ContractFactory, Wallet } from 'ethers'
import { KILN_ANCHOR_ABI, KILN_ANCHOR_BYTECODE } from './contract-artifact.js'
import { EthereumRpcError, InvalidEthereumAnchorOptionError } from './errors.js'
import { endpointOf, providerOf, rpcCall, rpcChainNumber, type RpcInit } from './rpc.js'

/** Options of {@link deployAnchorContract}. */
export interface DeployAnchorContractInit extends RpcInit {
  /** The hex private key of the account that deploys (and pays for) the contract. */
  privateKey: string
}

/** Deploys the KilnAnchor contract with the package's compiled bytecode and resolves with its address once mined. */
export async function deployAnchorContract (init: DeployAnchorContractInit): Promise<string> {
  const endpoint = endpointOf(init)
  // The chain is asked first: the wallet signs for exactly that chain.
  const chainNumber = await rpcChainNumber(providerOf(init, 1n), endpoint)
  const provider = providerOf(init, chainNumber)
  let wallet: Wallet
  try {
    wallet = new Wallet(init.privateKey, provider)
  } catch (err) {
    throw new InvalidEthereumAnchorOptionError('privateKey must be a secp256k1 private key, 0x and 64 hex digits', { cause: err })
  }
  const factory = new ContractFactory(KILN_ANCHOR_ABI, KILN_ANCHOR_BYTECODE, wallet)
  const contract = await rpcCall(endpoint, 'eth_sendRawTransaction', async () => await factory.deploy())
  await rpcCall(endpoint, 'eth_getTransactionReceipt', async () => await contract.waitForDeployment())
  const address = await contract.getAddress()
  const code = await rpcCall(endpoint, 'eth_getCode', async () => await provider.getCode(address))
  if (code === '0x') throw new EthereumRpcError(`the KilnAnchor deployment at ${address} left no code`, { details: { address } })
  return address
}
