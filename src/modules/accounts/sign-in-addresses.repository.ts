import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'

/** Where accounts signed in from (docs/SECURITY.md, "a username block renewed forever"). */
export function createSignInAddressesRepository(db: Kysely<Database>) {
  return {
    async remember(userId: number, addressHash: string, nowMs: number): Promise<void> {
      await db
        .insertInto('sign_in_addresses')
        .values({ user_id: userId, address_hash: addressHash, last_sign_in_at: nowMs })
        .onConflict((c) => c.columns(['user_id', 'address_hash']).doUpdateSet({ last_sign_in_at: nowMs }))
        .execute()
    },

    async signedInSince(userId: number, addressHash: string, sinceMs: number): Promise<boolean> {
      const row = await db
        .selectFrom('sign_in_addresses')
        .select('user_id')
        .where('user_id', '=', userId)
        .where('address_hash', '=', addressHash)
        .where('last_sign_in_at', '>=', sinceMs)
        .executeTakeFirst()
      return row !== undefined
    },

    /** Rows older than the window can no longer let anyone past a block. */
    async forgetBefore(beforeMs: number): Promise<void> {
      await db.deleteFrom('sign_in_addresses').where('last_sign_in_at', '<', beforeMs).execute()
    },
  }
}

export type SignInAddressesRepository = ReturnType<typeof createSignInAddressesRepository>
