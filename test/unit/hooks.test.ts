import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { requestHook, sendHook } from '../../src/http/hooks.ts'

const req = { method: 'POST' } as FastifyRequest
const reply = {} as FastifyReply

function run(hook: ReturnType<typeof requestHook>): Promise<{ error: unknown; sync: boolean }> {
  return new Promise((resolve) => {
    let returned = false
    hook(req, reply, (error?: unknown) => resolve({ error: error ?? null, sync: !returned }))
    returned = true
  })
}

describe('hooks that concern only some requests (requestHook, sendHook)', () => {
  test('a request it does not concern passes at once, without running the body', async () => {
    let ran = false
    const outcome = await run(
      requestHook(
        () => false,
        () => {
          ran = true
        },
      ),
    )
    assert.deepEqual(outcome, { error: null, sync: true })
    assert.equal(ran, false)
  })

  test('the body runs for the requests it concerns; a throw or a rejection refuses the request', async () => {
    const refused = new Error('refused')
    assert.deepEqual(
      await run(
        requestHook(
          () => true,
          () => undefined,
        ),
      ),
      { error: null, sync: true },
    )
    assert.equal(
      (
        await run(
          requestHook(
            () => true,
            () => Promise.reject(refused),
          ),
        )
      ).error,
      refused,
    )
    assert.equal(
      (
        await run(
          requestHook(
            () => true,
            () => {
              throw refused
            },
          ),
        )
      ).error,
      refused,
    )
    const awaited = await run(
      requestHook(
        () => true,
        async () => {
          await new Promise((resolve) => setImmediate(resolve))
        },
      ),
    )
    assert.deepEqual(awaited, { error: null, sync: false }, 'an async body is waited for')
  })

  test('onSend: the payload goes on unchanged, or as the body returns it', async () => {
    const send = (hook: ReturnType<typeof sendHook>) =>
      new Promise<unknown>((resolve, reject) =>
        hook(req, reply, 'original', (error, value) => (error ? reject(error) : resolve(value))),
      )
    assert.equal(
      await send(
        sendHook(
          () => false,
          () => 'replaced',
        ),
      ),
      'original',
    )
    assert.equal(
      await send(
        sendHook(
          () => true,
          async (_r, _p, payload) => `${String(payload)}+1`,
        ),
      ),
      'original+1',
    )
    await assert.rejects(
      send(
        sendHook(
          () => true,
          () => Promise.reject(new Error('no')),
        ),
      ),
      /no/,
    )
  })
})
