/**
 * The JSON Schema (draft 2020-12) of a rules document's content, as published in `meta-schema.json`. It states the
 * shape; `parseRules` checks it and the rest a schema cannot say (unique rule names, a threshold within its list,
 * compilable JSON Schemas, the size and depth bounds) and names the JSON path of the first fault.
 */
const did = { type: 'string', pattern: '^did:[a-z0-9]+:[A-Za-z0-9._:%-]+$', maxLength: 512 }
const didList = { type: 'array', items: { $ref: '#/$defs/did' }, minItems: 1, maxItems: 64, uniqueItems: true }
const name = { type: 'string', pattern: '^[a-zA-Z][a-zA-Z0-9_-]{0,63}$' }
const docId = { type: 'string', minLength: 1, maxLength: 512 }
const time = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER }
const pathPattern = { type: 'string', maxLength: 512, pattern: '^(|/.*|#[a-zA-Z][a-zA-Z0-9_]{0,63})$' }
const patternList = { type: 'array', items: { $ref: '#/$defs/pathPattern' }, minItems: 1, maxItems: 64, uniqueItems: true }

export const rulesMetaSchema: Readonly<Record<string, unknown>> = Object.freeze({
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://kiln.dev/schemas/rules/v1.json',
  title: 'Kiln rule set',
  type: 'object',
  required: ['version', 'rules'],
  additionalProperties: false,
  properties: {
    version: { const: 1 },
    description: { type: 'string', maxLength: 512 },
    default: { enum: ['deny', 'allow'] },
    rules: { type: 'array', maxItems: 64, items: { $ref: '#/$defs/rule' } }
  },
  $defs: {
    did,
    didList,
    name,
    docId,
    pathPattern,
    patternList,
    rule: {
      type: 'object',
      required: ['name'],
      additionalProperties: false,
      properties: {
        name: { type: 'string', pattern: '^[a-zA-Z][a-zA-Z0-9_.-]{0,63}$' },
        description: { type: 'string', maxLength: 512 },
        paths: { $ref: '#/$defs/patternList' },
        who: { $ref: '#/$defs/who' },
        how: { $ref: '#/$defs/how' },
        when: { $ref: '#/$defs/when' }
      }
    },
    who: {
      oneOf: [
        { type: 'object', required: ['anyOf'], additionalProperties: false, properties: { anyOf: { $ref: '#/$defs/didList' } } },
        {
          type: 'object',
          required: ['anyOf'],
          additionalProperties: false,
          properties: { anyOf: { type: 'array', minItems: 1, maxItems: 64, items: { $ref: '#/$defs/who' } } }
        },
        {
          type: 'object',
          required: ['allOf'],
          additionalProperties: false,
          properties: { allOf: { type: 'array', minItems: 1, maxItems: 64, items: { $ref: '#/$defs/who' } } }
        },
        {
          type: 'object',
          required: ['threshold', 'of'],
          additionalProperties: false,
          properties: { threshold: { type: 'integer', minimum: 1, maximum: 64 }, of: { $ref: '#/$defs/didList' } }
        },
        {
          type: 'object',
          required: ['membersOf'],
          additionalProperties: false,
          properties: {
            membersOf: {
              type: 'object',
              required: ['evidence', 'doc', 'path'],
              additionalProperties: false,
              properties: { evidence: { $ref: '#/$defs/name' }, doc: { $ref: '#/$defs/docId' }, path: { type: 'string', pattern: '^(|/.*)$', maxLength: 512 } }
            }
          }
        },
        {
          type: 'object',
          required: ['capability'],
          additionalProperties: false,
          properties: {
            capability: {
              oneOf: [
                { const: true },
                {
                  type: 'object',
                  required: ['issuers'],
                  additionalProperties: false,
                  properties: { issuers: { type: 'array', minItems: 1, maxItems: 64, uniqueItems: true, items: { type: 'string', pattern: '^did:pkh:[A-Za-z0-9._:%-]+$', maxLength: 512 } } }
                }
              ]
            }
          }
        },
        { type: 'object', required: ['controllers'], additionalProperties: false, properties: { controllers: { const: true } } }
      ]
    },
    how: {
      type: 'object',
      additionalProperties: false,
      properties: {
        paths: { $ref: '#/$defs/patternList' },
        ops: { type: 'array', minItems: 1, maxItems: 6, uniqueItems: true, items: { enum: ['add', 'remove', 'replace', 'move', 'copy', 'test'] } },
        appendOnly: { type: 'boolean' },
        compareAndSet: { type: 'boolean' },
        transition: { type: 'object' }
      }
    },
    when: {
      type: 'object',
      additionalProperties: false,
      properties: {
        evidence: {
          type: 'array',
          minItems: 1,
          maxItems: 64,
          items: {
            type: 'object',
            required: ['evidence', 'doc'],
            additionalProperties: false,
            properties: { evidence: { $ref: '#/$defs/name' }, doc: { $ref: '#/$defs/docId' }, require: { type: 'object' } }
          }
        },
        notBefore: time,
        notAfter: time
      }
    }
  }
})
