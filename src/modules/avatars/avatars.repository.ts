import type { Kysely, Selectable } from 'kysely'
import { isForeignKeyViolation } from '../../db/errors.ts'
import type { AvatarsTable, Database } from '../../db/schema.ts'

export type AvatarRow = Selectable<AvatarsTable>

/** What serving needs, hash and type included, so a 304 or a redirect can be decided from one read. */
export type ServedAvatar = Pick<AvatarRow, 'content_type' | 'data' | 'sha256' | 'file_name'>

/** The user the avatar belonged to is gone (deleted while the upload was being processed). */
export class AvatarOwnerMissingError extends Error {
  readonly userId: number

  constructor(userId: number) {
    super(`user ${userId} does not exist`)
    this.userId = userId
    this.name = 'AvatarOwnerMissingError'
  }
}

export function createAvatarsRepository(db: Kysely<Database>) {
  return {
    /**
     * Makes `avatar` the user's avatar in one statement (an upsert): a concurrent reader sees
     * the previous row or this one, and two uploads racing leave exactly one of them. Its file
     * name is recorded in the same transaction, so that URL redirects once it is replaced.
     */
    async replace(avatar: AvatarRow): Promise<void> {
      const { user_id: _userId, ...changes } = avatar
      try {
        await db.transaction().execute(async (trx) => {
          await trx
            .insertInto('avatars')
            .values(avatar)
            .onConflict((conflict) => conflict.column('user_id').doUpdateSet(changes))
            .execute()
          await trx
            .insertInto('avatar_file_names')
            .values({ user_id: avatar.user_id, file_name: avatar.file_name, stored_at: avatar.updated_at })
            .onConflict((conflict) => conflict.columns(['user_id', 'file_name']).doNothing())
            .execute()
        })
      } catch (error) {
        if (isForeignKeyViolation(error)) throw new AvatarOwnerMissingError(avatar.user_id)
        throw error
      }
    },

    /** Whether this user's avatar was ever stored under this name (an earlier avatar's URL). */
    async wasStoredAs(userId: number, fileName: string): Promise<boolean> {
      const row = await db
        .selectFrom('avatar_file_names')
        .select('user_id')
        .where('user_id', '=', userId)
        .where('file_name', '=', fileName)
        .executeTakeFirst()
      return row !== undefined
    },

    async findForServing(userId: number): Promise<ServedAvatar | undefined> {
      return db
        .selectFrom('avatars')
        .select(['content_type', 'data', 'sha256', 'file_name'])
        .where('user_id', '=', userId)
        .executeTakeFirst()
    },
  }
}

export type AvatarsRepository = ReturnType<typeof createAvatarsRepository>
