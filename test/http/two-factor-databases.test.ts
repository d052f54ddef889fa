import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { sql } from 'kysely'
import { withApp } from '../support/app.ts'
import { createAgent } from '../support/agent.ts'
import { databaseKinds, MANY_USERS_ENV, signedIn } from '../support/factories.ts'
import { codeNow, passwordStep, totpUser } from '../support/two-factor.ts'

for (const { kind, postgresUrl } of databaseKinds()) {
  const onDatabase = { database: kind, ...(postgresUrl ? { postgresUrl } : {}), env: MANY_USERS_ENV }

  describe(`two-factor sign-in on ${kind}`, () => {
    test('at rest: the secret only sealed, recovery codes only hashed, neither in any log line', () =>
      withApp(onDatabase, async (t) => {
        const user = await totpUser(t)
        const agent = await passwordStep(t, user)
        const code = await codeNow(t, user.secret)
        assert.equal((await agent.post('/api/login/2fa', { json: { code } })).statusCode, 200)
        const recovery = await passwordStep(t, user)
        assert.equal(
          (await recovery.post('/api/login/2fa', { json: { code: user.recoveryCodes[1]! } })).statusCode,
          200,
        )

        // The raw rows, as a copy of the database would hold them.
        const totp = await sql<Record<string, unknown>>`select * from totp_credentials`.execute(t.database.db)
        const codes = await sql<Record<string, unknown>>`select * from recovery_codes`.execute(t.database.db)
        const raw = JSON.stringify([totp.rows, codes.rows])
        const compact = (value: string) => value.replaceAll('-', '')
        for (const secret of [user.secret, user.secret.toLowerCase()])
          assert.ok(!raw.includes(secret), 'secret in the table')
        for (const recoveryCode of user.recoveryCodes) {
          assert.ok(!raw.includes(recoveryCode) && !raw.includes(compact(recoveryCode)), 'recovery code in the table')
        }
        const sealed = String(totp.rows[0]!.secret_sealed)
        assert.match(sealed, /^v1\.[\w-]{16}\.[\w-]+\.[\w-]{22}$/, 'AES-GCM: 96-bit IV, ciphertext, 128-bit tag')
        assert.equal(codes.rows.length, 10)
        assert.equal(codes.rows.filter((row) => row.used_at !== null).length, 1)

        const logs = JSON.stringify(t.logs())
        assert.ok(!logs.includes(user.secret), 'secret in a log line')
        for (const recoveryCode of user.recoveryCodes) assert.ok(!logs.includes(recoveryCode), 'recovery code logged')
      }))

    test('a sealed secret moved onto another account does not open there', () =>
      withApp(onDatabase, async (t) => {
        const victim = await totpUser(t)
        const attacker = await totpUser(t)
        const { secret_sealed: sealed } = await t.database.db
          .selectFrom('totp_credentials')
          .select('secret_sealed')
          .where('user_id', '=', victim.id)
          .executeTakeFirstOrThrow()
        await t.database.db
          .updateTable('totp_credentials')
          .set({ secret_sealed: sealed })
          .where('user_id', '=', attacker.id)
          .execute()
        const agent = await passwordStep(t, attacker)
        const res = await agent.post('/api/login/2fa', { json: { code: await codeNow(t, victim.secret) } })
        assert.notEqual(res.statusCode, 200)
        assert.equal((await agent.get('/api/me')).statusCode, 401)
      }))

    test('two parallel second steps with one code: one signs in; deleting the account removes its rows', () =>
      withApp(onDatabase, async (t) => {
        const user = await totpUser(t)
        const code = await codeNow(t, user.secret)
        const agents = await Promise.all([passwordStep(t, user), passwordStep(t, user), passwordStep(t, user)])
        const statuses = await Promise.all(
          agents.map(async (a) => (await a.post('/api/login/2fa', { json: { code } })).statusCode),
        )
        assert.deepEqual(statuses.sort(), [200, 401, 401])
        const admin = await signedIn(t, 'admin')
        assert.equal((await admin.agent.delete(`/api/admin/users/${user.id}`)).statusCode, 204)
        for (const table of ['totp_credentials', 'recovery_codes', 'sign_in_challenges'] as const) {
          const rows = await t.database.db.selectFrom(table).select('user_id').where('user_id', '=', user.id).execute()
          assert.equal(rows.length, 0, table)
        }
      }))

    test('DELETE /api/admin/users/:id/2fa: 204, the factors gone, every session of the account ended, logged', () =>
      withApp(onDatabase, async (t) => {
        const user = await totpUser(t)
        const admin = await signedIn(t, 'admin')
        const learner = await signedIn(t, 'learner')
        assert.equal((await learner.agent.delete(`/api/admin/users/${user.id}/2fa`)).statusCode, 403)
        assert.equal((await createAgent(t).delete(`/api/admin/users/${user.id}/2fa`)).statusCode, 401)
        assert.equal((await admin.agent.delete('/api/admin/users/999999/2fa')).statusCode, 404)

        const res = await admin.agent.delete(`/api/admin/users/${user.id}/2fa`)
        assert.equal(res.statusCode, 204)
        assert.equal((await user.agent.get('/api/me')).statusCode, 401, 'the account was signed out')
        const action = t.events('admin_action').at(-1)!
        assert.equal((action.extra as { action: string }).action, 'remove_second_factors')
        assert.deepEqual((action.extra as { removed: string[] }).removed, ['totp'])
        assert.equal((action.extra as { target_id: number }).target_id, user.id)
        // The password alone signs in again, and the account shows no second factor.
        const agent = createAgent(t)
        const login = await agent.post('/api/login', { json: { username: user.username, password: user.password } })
        assert.equal((login.json() as { user: { two_factor_enabled: boolean } }).user.two_factor_enabled, false)
        const listed = await admin.agent.get(`/api/admin/users?q=${user.username}`)
        const users = (listed.json() as { users: Array<{ id: number; two_factor_enabled: boolean }> }).users
        assert.equal(users.find((u) => u.id === user.id)!.two_factor_enabled, false)
      }))
  })
}
