import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { clientKey } from '../../src/security/client-key.ts'

describe('clientKey: what a client is counted by', () => {
  test('an IPv4 address is its own key', () => {
    assert.equal(clientKey('203.0.113.7'), '203.0.113.7')
    assert.notEqual(clientKey('203.0.113.7'), clientKey('203.0.113.8'))
  })

  test('an IPv4-mapped IPv6 address is the IPv4 address it carries, in either notation', () => {
    assert.equal(clientKey('::ffff:203.0.113.7'), '203.0.113.7')
    assert.equal(clientKey('::FFFF:cb00:7107'), '203.0.113.7')
    assert.equal(clientKey('0:0:0:0:0:ffff:203.0.113.7'), '203.0.113.7')
  })

  test('IPv6 addresses are grouped per /64, whatever their notation', () => {
    const key = clientKey('2001:db8:1:2::1')
    assert.equal(key, '2001:db8:1:2::/64')
    assert.equal(clientKey('2001:0DB8:0001:0002:ffff:ffff:ffff:ffff'), key)
    assert.equal(clientKey('2001:db8:1:2:abcd::9%eth0'), key)
    assert.notEqual(clientKey('2001:db8:1:3::1'), key)
    assert.equal(clientKey('2001:db8::1'), '2001:db8::/64')
    assert.equal(clientKey('fe80::1'), 'fe80::/64')
    assert.equal(clientKey('::1'), '::/64')
  })

  test('a /64 whose groups are not zero is written out without compression', () => {
    assert.equal(clientKey('2001:db8:aaaa:bbbb:1:2:3:4'), '2001:db8:aaaa:bbbb::/64')
    assert.equal(clientKey('2001:0:0:1::5'), '2001:0:0:1::/64')
  })

  test('something that is not an IP address (a Unix socket peer) is kept as it is', () => {
    assert.equal(clientKey(''), '')
    assert.equal(clientKey('unix-socket'), 'unix-socket')
  })
})
