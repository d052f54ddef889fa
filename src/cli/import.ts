import { resolve } from 'node:path'
import { ConfigError, loadConfig, type Config } from '../config/index.ts'
import { migrateToLatest, openDatabase, sqlitePathFor, type DatabaseHandle } from '../db/database.ts'
import { systemClock } from '../lib/clock.ts'
import { NAMES } from '../modules/catalog/catalog.presenter.ts'
import { ContentFolderError, readContentFolder, refuseUnrenderableParts } from '../modules/importer/folder.ts'
import { importIntoCatalog, type ImportSummary } from '../modules/importer/import.ts'
import { createMarkdownRenderer } from '../modules/catalog/rendering/markdown.ts'
import { resolveFolderImages, storeFolderMedia, type FolderMedia } from '../modules/importer/folder-images.ts'
import { createImageProcessor } from '../images/index.ts'
import { avatarImageLimits } from '../modules/avatars/avatars.service.ts'
import { describeArgsProblem, parseCommandLine } from './args.ts'
import { EXIT_OK, EXIT_PROBLEM, EXIT_USAGE, type CliIo, type Command } from './io.ts'

const USAGE = `Usage: lectern import PATH

Imports a course or an ebook from a folder of Markdown files into the database configured by
the environment (DATABASE_URL, or the SQLite file in DATA_DIR).

The folder holds course.md (or ebook.md) with front matter, and numbered Markdown files, one
lesson or chapter each:

  web-basics/
    course.md          ---
                       title: Web basics
                       slug: web-basics
                       description: What every page is made of.
                       ---
    01-intro.md        # Introduction        (the first # heading is the title,
    02-html.md         # HTML                 or front matter "title:")

Images shown by a path relative to the folder (![Diagram](images/flow.png)) are checked like
avatars, re-encoded (at most 1600 px) and served from /media/; a missing or refused image, or a
path leading outside the folder, stops the import. Images from other sites become links.

Importing again updates the course in place: lessons are matched by their file name without
the number, so learners keep their progress in lessons that still exist. See docs/content.md.

Exit status: 0 imported, 1 the database could not be written, 2 usage error or a bad folder.
`

/** The database the server would use, migrated, for a command that needs it. Close it when done. */
export async function openConfiguredDatabase(config: Config): Promise<DatabaseHandle> {
  const database = openDatabase({
    databaseUrl: config.databaseUrl,
    sqlitePath: config.databaseUrl ? '' : sqlitePathFor(config.dataDir),
    pgPoolSize: 2,
  })
  try {
    await migrateToLatest(database.db)
  } catch (error) {
    await database.close()
    throw error
  }
  return database
}

/** The configuration, or a message on stderr and null (exit 2). */
export function configOrUsageError(io: CliIo, command: string): Config | null {
  try {
    return loadConfig(io.env)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    io.stderr.write(`lectern ${command}: invalid configuration: ${error.message}\n`)
    return null
  }
}

function describe(summary: ImportSummary): string {
  const names = NAMES[summary.kind]
  const total = summary.added + summary.updated + summary.unchanged
  const counts = `${summary.added} added, ${summary.updated} updated, ${summary.unchanged} unchanged, ${summary.removed} removed`
  const verb = summary.created ? 'Created' : 'Updated'
  return `${verb} ${names.work} "${summary.slug}" (${summary.title}): ${total} ${names.parts} (${counts}).\n`
}

export const importCommand: Command = {
  name: 'import',
  summary: 'import a course or an ebook from a folder of Markdown files',
  usage: USAGE,
  async run(argv, io) {
    const args = parseCommandLine(argv, {})
    if (args.help) {
      io.stdout.write(USAGE)
      return EXIT_OK
    }
    if (!args.ok || args.positionals.length !== 1) {
      const problem = args.ok ? 'expected exactly one PATH' : describeArgsProblem(args.problem)
      io.stderr.write(`lectern import: ${problem}\n\n${USAGE}`)
      return EXIT_USAGE
    }
    const config = configOrUsageError(io, 'import')
    if (!config) return EXIT_USAGE

    const path = resolve(args.positionals[0]!)
    let folder
    let media: FolderMedia[]
    const markdown = createMarkdownRenderer()
    try {
      // Images shown by relative paths pass the avatar rules and become stored media (CONTRACT §12).
      ;({ folder, media } = await resolveFolderImages(await readContentFolder(path, markdown), {
        processor: createImageProcessor({ limits: avatarImageLimits(config) }),
        maxFileBytes: config.maxUploadBytes,
      }))
      await refuseUnrenderableParts(path, folder, markdown)
    } catch (error) {
      if (!(error instanceof ContentFolderError)) throw error
      io.stderr.write(
        `lectern import: ${path} cannot be imported:\n${error.problems.map((problem) => `  - ${problem}\n`).join('')}`,
      )
      return EXIT_USAGE
    } finally {
      await markdown.close()
    }

    let database: DatabaseHandle | undefined
    try {
      database = await openConfiguredDatabase(config)
      const summary = await database.db.transaction().execute(async (trx) => {
        await storeFolderMedia(trx, media, systemClock)
        return importIntoCatalog(trx, folder, { clock: systemClock })
      })
      io.stdout.write(describe(summary))
      return EXIT_OK
    } catch (error) {
      io.stderr.write(`lectern import: the database could not be written: ${(error as Error).message}\n`)
      return EXIT_PROBLEM
    } finally {
      await database?.close()
    }
  },
}
