#!/usr/bin/env node
// Prints the rules document of the team task list: members (and admins) append tasks, two of the three admins close
// the list, the owner (the list's controller) edits its title, and the rules themselves change only with all three
// admins. Usage: node make-rules.mjs --admin <did> --admin <did> --admin <did> --member <did>... > rules.json
import { parseArgs } from 'node:util'

/** The rule set for these admins and members (DIDs), as plain JSON. */
export function teamRules ({ admins, members }) {
  if (admins.length !== 3) throw new RangeError(`a team has three admins, got ${admins.length}`)
  return {
    version: 1,
    rules: [
      {
        name: 'members-append',
        description: 'Members and admins add tasks at the end of the list; nobody edits or removes one.',
        paths: ['/tasks'],
        who: { anyOf: [...members, ...admins] },
        how: { appendOnly: true }
      },
      {
        name: 'admins-close',
        description: 'Two of the three admins, signing the same commit, close the list.',
        paths: ['/closed'],
        who: { threshold: 2, of: admins }
      },
      {
        name: 'owner-renames',
        description: 'The owner (the controller) may change the title.',
        paths: ['/title'],
        who: { controllers: true },
        how: { ops: ['replace'] }
      },
      {
        name: 'rules-need-every-admin',
        description: 'The rules reference and the controller change only with all three admins.',
        paths: ['#rules', '#controllers'],
        who: { threshold: 3, of: admins }
      }
    ]
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { admin: { type: 'string', multiple: true }, member: { type: 'string', multiple: true } } })
  process.stdout.write(`${JSON.stringify(teamRules({ admins: values.admin ?? [], members: values.member ?? [] }), null, 2)}\n`)
}
