import { CREATE_ADMIN_COMMAND } from '../../../modules/accounts/first-admin.ts'
import { createDoctorRepository } from '../doctor.repository.ts'
import { ok, problem, type DoctorCheck } from '../types.ts'

/** Without an admin nobody can manage accounts or the catalogue through Lectern itself. */
export const adminsCheck: DoctorCheck = {
  name: 'admins',
  level: 'FAIL',
  fix: `create one: ${CREATE_ADMIN_COMMAND}`,
  scope: 'any',
  async run({ database }) {
    if (database === null) return problem('cannot be checked: the database cannot be opened', { fix: 'see "database"' })
    const admins = await createDoctorRepository(database.db).activeAdmins()
    if (admins.length === 0) return problem('no active admin account exists')
    return ok(`${admins.length} active admin account(s)`)
  },
}
