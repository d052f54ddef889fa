import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { localPath } from '../../src/web/local-path.ts'
import { decodedNext, hostileNextValues, resolvedOrigin, SITE_ORIGIN } from '../support/open-redirects.ts'

describe('localPath: where signing in may lead', () => {
  test('every hostile value of test/fixtures/open-redirects.txt is refused or stays on this site', () => {
    const values = hostileNextValues()
    assert.ok(values.length > 40, 'the fixture is read')
    for (const raw of values) {
      const path = localPath(decodedNext(raw))
      if (path === null) continue
      assert.match(path, /^\/(?![/\\])/, raw)
      assert.equal(resolvedOrigin(path), SITE_ORIGIN, `${raw} → ${path}`)
    }
  })

  test('dot segments that normalise to //host are refused, not returned normalised', () => {
    for (const value of ['/.//evil.example/x', '/%2e//evil.example/x', '/a/..//evil.example/x', '/..//evil.example']) {
      assert.equal(localPath(value), null, value)
    }
  })

  test('paths on this site are kept, normalised', () => {
    assert.equal(localPath('/courses/intro?x=1#part'), '/courses/intro?x=1#part')
    assert.equal(localPath('/a/../courses'), '/courses')
    assert.equal(localPath('/'), '/')
    // Encoded slashes stay encoded: one path segment on this site, not a host.
    assert.equal(localPath('/%2F%2Fevil.example'), '/%2F%2Fevil.example')
  })
})
