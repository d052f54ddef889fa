import { Ajv } from 'ajv'
import addFormatsModule from 'ajv-formats'
import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import { HttpError } from '../../http/errors.ts'
import type { Clock } from '../../lib/clock.ts'
import { passwordResetUrl, type Mailer, type Site } from '../../mail/index.ts'
import { newOneTimeToken } from '../../security/one-time-token.ts'
import { createAccountsRepository, DuplicateUserError, lowerKey } from './accounts.repository.ts'
import {
  DISPLAY_NAME_MAX_LENGTH,
  registerBodySchema,
  USERNAME_MAX_LENGTH,
  USERNAME_MIN_LENGTH,
} from './accounts.schemas.ts'
import { normalizeText } from './accounts.service.ts'
import { readImportCsv, type ImportRow } from './import-users.csv.ts'
import { createPasswordResetRepository } from './password-reset.repository.ts'

// ajv-formats is CommonJS with a default export; under NodeNext its default is the module object.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv

/** How long the set-password link of an imported account works: a week, for a class to get to it. */
export const IMPORT_LINK_TTL_MS = 7 * 24 * 60 * 60 * 1000

/** The roles a file may give. An admin is made with `lectern create-admin`, one person at a time. */
export const IMPORT_ROLES = ['learner', 'instructor'] as const
type ImportRole = (typeof IMPORT_ROLES)[number]

export interface ImportedAccount {
  line: number
  userId: number
  username: string
  email: string
  url: string
  expiresAt: number
}

export type ImportOutcome = { ok: true; created: ImportedAccount[] } | { ok: false; problems: string[] }

interface CheckedRow {
  line: number
  username: string
  email: string
  displayName: string
  role: ImportRole
}

const { username: usernameRule, email: emailRule } = registerBodySchema.properties
const ajv = addFormats(new Ajv({ allErrors: false }))
const validUsername = ajv.compile(usernameRule)
const validEmail = ajv.compile(emailRule)

/** One row against the registration rules; its problems, each naming the line. */
function checkRow(row: ImportRow): CheckedRow | string[] {
  const problems: string[] = []
  const at = `line ${row.line}`
  if (!validUsername(row.username)) {
    problems.push(
      `${at}: invalid username "${row.username}" (${USERNAME_MIN_LENGTH}-${USERNAME_MAX_LENGTH} of the characters A-Z a-z 0-9 _ . -)`,
    )
  }
  if (!validEmail(row.email)) problems.push(`${at}: invalid email address "${row.email}"`)
  const role = row.role === '' ? 'learner' : row.role.toLowerCase()
  if (!(IMPORT_ROLES as readonly string[]).includes(role)) {
    problems.push(`${at}: invalid role "${row.role}" (learner or instructor; empty means learner)`)
  }
  let displayName = ''
  try {
    displayName = normalizeText(row.display_name, 'display_name', {
      maxLength: DISPLAY_NAME_MAX_LENGTH,
      multiline: false,
    })
  } catch (error) {
    if (!(error instanceof HttpError)) throw error
    problems.push(`${at}: ${error.publicMessage}`)
  }
  if (problems.length > 0) return problems
  return { line: row.line, username: row.username, email: row.email, displayName, role: role as ImportRole }
}

/** Rows of the same file that name one account twice, compared as the unique indexes compare them. */
function repeats(rows: CheckedRow[]): string[] {
  const problems: string[] = []
  const firstUsername = new Map<string, number>()
  const firstEmail = new Map<string, number>()
  for (const row of rows) {
    const usernameKey = lowerKey(row.username)
    const emailKey = lowerKey(row.email)
    const earlierUsername = firstUsername.get(usernameKey)
    const earlierEmail = firstEmail.get(emailKey)
    if (earlierUsername !== undefined) {
      problems.push(`line ${row.line}: username "${row.username}" is already on line ${earlierUsername}`)
    } else firstUsername.set(usernameKey, row.line)
    if (earlierEmail !== undefined) {
      problems.push(`line ${row.line}: email "${row.email}" is already on line ${earlierEmail}`)
    } else firstEmail.set(emailKey, row.line)
  }
  return problems
}

export interface ImportUsersDeps {
  db: Kysely<Database>
  mailer: Mailer
  site: Site
  clock: Clock
}

/**
 * Accounts of a CSV file (CONTRACT §15), for the command line and the /admin upload alike. Every
 * row is checked before anything is written, and the accounts and their links are written in one
 * transaction: one bad row, or one name taken meanwhile, and nothing is created. Each account has
 * no usable password; its owner sets one through a link mailed after the commit (a mail that
 * fails later undoes nothing: the mailer logs it, and the link can be printed or sent again).
 */
export function createImportUsersService(deps: ImportUsersDeps) {
  const { db, mailer, site, clock } = deps

  async function check(
    rows: ImportRow[],
  ): Promise<{ ok: true; rows: CheckedRow[] } | { ok: false; problems: string[] }> {
    const problems: string[] = []
    const checked: CheckedRow[] = []
    for (const row of rows) {
      const result = checkRow(row)
      if (Array.isArray(result)) problems.push(...result)
      else checked.push(result)
    }
    problems.push(...repeats(checked))
    const taken = await createAccountsRepository(db).takenAmong(
      checked.map((row) => lowerKey(row.username)),
      checked.map((row) => lowerKey(row.email)),
    )
    for (const row of checked) {
      if (taken.usernames.has(lowerKey(row.username))) {
        problems.push(`line ${row.line}: username "${row.username}" is already taken`)
      }
      if (taken.emails.has(lowerKey(row.email))) {
        problems.push(`line ${row.line}: email "${row.email}" is already registered`)
      }
    }
    const lineOf = (problem: string) => Number(/^line (\d+)/.exec(problem)?.[1] ?? 0)
    problems.sort((a, b) => lineOf(a) - lineOf(b))
    return problems.length > 0 ? { ok: false, problems } : { ok: true, rows: checked }
  }

  async function create(rows: CheckedRow[]): Promise<ImportedAccount[]> {
    const nowMs = clock.now()
    const expiresAt = nowMs + IMPORT_LINK_TTL_MS
    const made = await db.transaction().execute(async (trx) => {
      const accounts = createAccountsRepository(trx)
      const links = createPasswordResetRepository(trx)
      const out: { account: ImportedAccount; token: string }[] = []
      for (const row of rows) {
        const user = await accounts.insertImported({ ...row, nowMs })
        const { token, tokenHash } = newOneTimeToken()
        await links.insert({ tokenHash, userId: user.id, issuedBy: 'import', nowMs, expiresAt })
        const url = passwordResetUrl(site, token)
        out.push({
          account: { line: row.line, userId: user.id, username: user.username, email: user.email, url, expiresAt },
          token,
        })
      }
      return out
    })
    // After the commit only: no mail ever announces an account that was rolled back.
    for (const { account, token } of made) {
      mailer.send({
        to: account.email,
        kind: 'account_created',
        data: { username: account.username, token, expiresAt },
      })
    }
    return made.map(({ account }) => account)
  }

  return {
    /** The file's bytes → the accounts made, or every problem found (each naming its line) and nothing made. */
    async importCsv(bytes: Uint8Array): Promise<ImportOutcome> {
      const reading = readImportCsv(bytes)
      if (!reading.ok) return reading
      if (reading.rows.length === 0) return { ok: false, problems: ['the file has a header but no accounts'] }
      const checked = await check(reading.rows)
      if (!checked.ok) return checked
      try {
        return { ok: true, created: await create(checked.rows) }
      } catch (error) {
        // Someone registered one of these names between the check and the write: nothing was made.
        if (!(error instanceof DuplicateUserError)) throw error
        const again = await check(reading.rows)
        const what = error.field === 'email' ? 'an email address' : 'a username'
        return again.ok ? { ok: false, problems: [`${what} of the file was registered meanwhile; try again`] } : again
      }
    },
  }
}

export type ImportUsersService = ReturnType<typeof createImportUsersService>
