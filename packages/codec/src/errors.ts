export { CodecError, InvalidCommitError } from '@kiln/interface'
