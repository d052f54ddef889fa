import type { Kysely, Selectable } from 'kysely'
import type { Database, ReadingPositionsTable } from '../../db/schema.ts'

export type ReadingPositionRow = Selectable<ReadingPositionsTable>

/** Reading positions, one per (reader, ebook). */
export function createReadingRepository(db: Kysely<Database>) {
  return {
    /**
     * Stores the position unless the stored one was read later. One statement (an upsert whose
     * update has a condition), so two devices racing can never leave the older position behind.
     * Returns whether this position is now the stored one.
     */
    async saveIfNewer(row: ReadingPositionRow): Promise<boolean> {
      const stored = await db
        .insertInto('reading_positions')
        .values(row)
        .onConflict((oc) =>
          oc
            .columns(['user_id', 'ebook_id'])
            .doUpdateSet((eb) => ({
              chapter_id: eb.ref('excluded.chapter_id'),
              position: eb.ref('excluded.position'),
              read_at: eb.ref('excluded.read_at'),
              recorded_at: eb.ref('excluded.recorded_at'),
            }))
            // Equal times: the later request wins (one device sending twice in the same millisecond).
            .where((eb) => eb('reading_positions.read_at', '<=', eb.ref('excluded.read_at'))),
        )
        .returning('user_id')
        .executeTakeFirst()
      return stored !== undefined
    },

    find(userId: number, ebookId: number): Promise<ReadingPositionRow | undefined> {
      return db
        .selectFrom('reading_positions')
        .selectAll()
        .where('user_id', '=', userId)
        .where('ebook_id', '=', ebookId)
        .executeTakeFirst()
    },

    /** The user's positions, most recently read first. */
    listForUser(userId: number): Promise<ReadingPositionRow[]> {
      return db
        .selectFrom('reading_positions')
        .selectAll()
        .where('user_id', '=', userId)
        .orderBy('read_at', 'desc')
        .orderBy('ebook_id')
        .execute()
    },
  }
}
