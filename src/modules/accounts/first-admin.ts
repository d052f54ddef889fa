/** The command that creates the first admin, as an operator types it (docs/content.md). */
export const CREATE_ADMIN_COMMAND = 'bin/lectern create-admin --username NAME --email ADDRESS --password-stdin'
