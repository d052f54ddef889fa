import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { runLectern } from '../support/process.ts'

const COMMANDS = ['serve', 'create-admin', 'reset-password', 'import', 'import-users', 'analyze-logs', 'rate-limits']

/** Help is for the people running Lectern: it explains itself, never points at a design document. */
describe('help texts', () => {
  test('lectern --help and every command --help: usage, and no citation of the contract document', async () => {
    const texts = await Promise.all(
      [['--help'], ...COMMANDS.map((command) => [command, '--help'])].map((args) => runLectern(args)),
    )
    for (const [index, result] of texts.entries()) {
      assert.equal(result.code, 0, `${index}: ${result.stderr}`)
      assert.match(result.stdout, /Usage: lectern/)
      assert.doesNotMatch(result.stdout, /CONTRACT|§/, result.stdout.slice(0, 200))
    }
  })
})
