/**
 * The errors of the rules language. They are defined in `@kiln/interface`, beside every other Kiln error, because the
 * core throws `RuleViolationError` too, and the HTTP client rebuilds both from their names; they are re-exported here
 * so that a user of `@kiln/rules` finds them where the language is.
 */
export { InvalidRulesError, RuleViolationError } from '@kiln/interface'
