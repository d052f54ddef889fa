import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { Readable, Writable } from 'node:stream'
import type { Kysely } from 'kysely'
import type { CliIo, Command } from '../../src/cli/io.ts'
import type { Database } from '../../src/db/schema.ts'
import { createCatalogRepository } from '../../src/modules/catalog/catalog.repository.ts'
import { createPasswordHasher, TEST_PASSWORD_PARAMS } from '../../src/security/passwords.ts'
import type { ContentKind } from '../../src/modules/catalog/content-kind.ts'
import { createOwnersRepository } from '../../src/modules/catalog/owners.repository.ts'
import { createAgent, type Agent } from './agent.ts'
import type { TestApp } from './app.ts'
import type { TestDatabaseKind } from './database.ts'
import { testDatabaseUrl } from './services.ts'

export type Role = 'learner' | 'instructor' | 'admin'

export const PASSWORD = 'a long and memorable passphrase'

/**
 * Suites that sign many users in from one address: the registration and login limits are
 * tested in their own suites, here they would only get in the way.
 */
export const MANY_USERS_ENV = {
  RATE_LIMIT_REGISTER: '100000/1h',
  RATE_LIMIT_LOGIN: '100000/15m',
  RATE_LIMIT_LOGIN_USER: '100000/15m',
}

/** SQLite always; PostgreSQL too when TEST_DATABASE_URL is set (loud skip otherwise, failure in CI). */
export function databaseKinds(): Array<{ kind: TestDatabaseKind; postgresUrl?: string }> {
  const postgresUrl = testDatabaseUrl()
  return [{ kind: 'sqlite' }, ...(postgresUrl ? [{ kind: 'postgres' as const, postgresUrl }] : [])]
}

export interface SignedInUser {
  agent: Agent
  id: number
  username: string
  email: string
  password: string
  role: Role
}

let serial = 0

/**
 * A user registered through the real API and signed in on their own agent. Instructors and
 * admins are registered, then given their role in the database, as an admin would.
 */
export async function signedIn(t: TestApp, role: Role = 'learner', prefix: string = role): Promise<SignedInUser> {
  serial++
  const who = { username: `${prefix}${serial}`, email: `${prefix}${serial}@example.org`, password: PASSWORD }
  const agent = createAgent(t)
  const res = await agent.post('/api/register', { json: who })
  if (res.statusCode !== 201) throw new Error(`register ${who.username}: ${res.statusCode} ${res.body}`)
  const id = (res.json() as { user: { id: number } }).user.id
  if (role !== 'learner') await setRole(t.database.db, id, role)
  return { agent, id, role, ...who }
}

/**
 * An account written straight to the database (PASSWORD unless given), as `lectern create-admin` makes one:
 * for suites where registering is not open (REGISTRATION=invite or closed).
 */
export async function insertAccount(
  db: Kysely<Database>,
  username: string,
  role: Role,
  nowMs: number,
  password = PASSWORD,
): Promise<number> {
  const hash = await createPasswordHasher({ params: TEST_PASSWORD_PARAMS }).hash(password)
  const email = `${username.toLowerCase()}@example.org`
  const row = await db
    .insertInto('users')
    .values({
      username,
      username_lower: username.toLowerCase(),
      email,
      email_lower: email,
      password_hash: hash,
      display_name: '',
      bio: '',
      role,
      disabled: 0,
      created_at: nowMs,
      updated_at: nowMs,
    })
    .returning('id')
    .executeTakeFirstOrThrow()
  return row.id
}

export async function setRole(db: Kysely<Database>, userId: number, role: Role): Promise<void> {
  await db.updateTable('users').set({ role }).where('id', '=', userId).execute()
}

export interface WorkSpec {
  slug: string
  title?: string
  description?: string
  published?: boolean
  /** Titles (with a short body each), or titles with bodies. */
  parts?: Array<string | { title: string; body: string }>
  /** Users who own it (CONTRACT §12); none, like an imported work, when not given. */
  owners?: number[]
}

/** A course or ebook with its lessons or chapters, written straight to the database. */
export async function createWork(
  db: Kysely<Database>,
  kind: ContentKind,
  spec: WorkSpec,
  nowMs = Date.UTC(2026, 0, 1),
): Promise<{ id: number; partIds: number[] }> {
  const repo = createCatalogRepository(db, kind)
  const id = await repo.insertWork({
    slug: spec.slug,
    title: spec.title ?? `Title of ${spec.slug}`,
    description: spec.description ?? '',
    published: spec.published === false ? 0 : 1,
    created_by: null,
    created_at: nowMs,
    updated_at: nowMs,
  })
  for (const userId of spec.owners ?? []) await createOwnersRepository(db, kind).add(id, userId)
  const partIds: number[] = []
  for (const [index, part] of (spec.parts ?? []).entries()) {
    const { title, body } = typeof part === 'string' ? { title: part, body: `About ${part}.` } : part
    partIds.push(
      await repo.insertPart({
        work_id: id,
        position: index + 1,
        source_key: null,
        title,
        body_markdown: body,
        created_at: nowMs,
        updated_at: nowMs,
      }),
    )
  }
  return { id, partIds }
}

/** Makes `userId` an owner of the course or ebook at `slug` (CONTRACT §12), as an admin would name one. */
export async function addOwner(db: Kysely<Database>, kind: ContentKind, slug: string, userId: number): Promise<void> {
  const work = await db
    .selectFrom(kind === 'course' ? 'courses' : 'ebooks')
    .select('id')
    .where('slug', '=', slug)
    .executeTakeFirstOrThrow()
  await createOwnersRepository(db, kind).add(work.id, userId)
}

/** A fresh folder with these files (relative path → content). Remove it with rmSync. */
export function contentFolder(files: Record<string, string | Buffer>): string {
  const root = mkdtempSync(join(tmpdir(), 'lectern-content-'))
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true })
    writeFileSync(join(root, path), content)
  }
  return root
}

function collector() {
  let text = ''
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString()
      done()
    },
  })
  return { stream, text: () => text }
}

/** Runs a command in-process with this environment and standard input. */
export async function runCommand(
  command: Command,
  argv: string[],
  opts: { env: Record<string, string>; stdin?: string },
): Promise<{ code: number | 'running'; stdout: string; stderr: string }> {
  const stdout = collector()
  const stderr = collector()
  const io: CliIo = {
    stdin: Readable.from(opts.stdin === undefined ? [] : [opts.stdin]),
    stdout: stdout.stream,
    stderr: stderr.stream,
    env: opts.env,
    now: () => new Date(),
    stderrIsTTY: false,
    stdinIsTTY: false,
  }
  const code = await command.run(argv, io)
  return { code, stdout: stdout.text(), stderr: stderr.text() }
}
