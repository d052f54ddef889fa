import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'

/** What the readiness checks ask of the database. */
export function createDoctorRepository(db: Kysely<Database>) {
  return {
    /** The admins who can sign in, oldest first. */
    activeAdmins(): Promise<Array<{ id: number; username: string }>> {
      return db
        .selectFrom('users')
        .select(['id', 'username'])
        .where('role', '=', 'admin')
        .where('disabled', '=', 0)
        .orderBy('id')
        .execute()
    },
  }
}
