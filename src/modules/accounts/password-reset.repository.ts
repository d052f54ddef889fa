import type { Kysely } from 'kysely'
import type { Database, PasswordResetTokensTable } from '../../db/schema.ts'

export type ResetIssuer = PasswordResetTokensTable['issued_by']

/** Reset tokens by their hash; the token itself never reaches this layer. */
export function createPasswordResetRepository(db: Kysely<Database>) {
  return {
    async insert(row: { tokenHash: string; userId: number; issuedBy: ResetIssuer; nowMs: number; expiresAt: number }) {
      await db
        .insertInto('password_reset_tokens')
        .values({
          token_hash: row.tokenHash,
          user_id: row.userId,
          issued_by: row.issuedBy,
          created_at: row.nowMs,
          expires_at: row.expiresAt,
          used_at: null,
        })
        .execute()
    },

    async remove(tokenHash: string): Promise<void> {
      await db.deleteFrom('password_reset_tokens').where('token_hash', '=', tokenHash).execute()
    },

    /** How many links of this issuer the account was given since `sinceMs` (used or not). */
    async countIssuedSince(userId: number, issuedBy: ResetIssuer, sinceMs: number): Promise<number> {
      const row = await db
        .selectFrom('password_reset_tokens')
        .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
        .where('user_id', '=', userId)
        .where('issued_by', '=', issuedBy)
        .where('created_at', '>', sinceMs)
        .executeTakeFirstOrThrow()
      return Number(row.n)
    },

    /** The account of a token that still works at `nowMs`, without consuming it. */
    async findUsable(tokenHash: string, nowMs: number): Promise<number | undefined> {
      const row = await db
        .selectFrom('password_reset_tokens')
        .select('user_id')
        .where('token_hash', '=', tokenHash)
        .where('used_at', 'is', null)
        .where('expires_at', '>', nowMs)
        .executeTakeFirst()
      return row?.user_id
    },

    /**
     * Consumes the token in one UPDATE: of two requests racing with the same token, the database
     * lets exactly one change the row. Returns the account and who issued the link, or undefined
     * when it did not work.
     */
    async consume(tokenHash: string, nowMs: number): Promise<{ userId: number; issuedBy: ResetIssuer } | undefined> {
      const row = await db
        .updateTable('password_reset_tokens')
        .set({ used_at: nowMs })
        .where('token_hash', '=', tokenHash)
        .where('used_at', 'is', null)
        .where('expires_at', '>', nowMs)
        .returning(['user_id', 'issued_by'])
        .executeTakeFirst()
      return row && { userId: row.user_id, issuedBy: row.issued_by }
    },

    /** Every link of the account still outstanding stops working. Returns how many. */
    async voidAllForUser(userId: number, nowMs: number): Promise<number> {
      const result = await db
        .updateTable('password_reset_tokens')
        .set({ used_at: nowMs })
        .where('user_id', '=', userId)
        .where('used_at', 'is', null)
        .executeTakeFirst()
      return Number(result.numUpdatedRows)
    },
  }
}

export type PasswordResetRepository = ReturnType<typeof createPasswordResetRepository>
