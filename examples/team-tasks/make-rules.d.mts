/** The rules document of the team task list for these admins (three DIDs) and members (DIDs). */
export function teamRules (team: { admins: string[], members: string[] }): Record<string, unknown>
