import type { Kysely } from 'kysely'

/**
 * The avatars stored before 0006 have their current name recorded, so their URL still redirects
 * after the next upload. Names replaced before 0006 were never recorded and are 404 from now on.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db
    .insertInto('avatar_file_names')
    .columns(['user_id', 'file_name', 'stored_at'])
    .expression(db.selectFrom('avatars').select(['user_id', 'file_name', 'updated_at']))
    .execute()
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.deleteFrom('avatar_file_names').execute()
}
