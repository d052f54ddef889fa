import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto'

/**
 * A software authenticator for the HTTP tests of passkeys (CONTRACT §11): an ES256 key made with
 * node:crypto, "none" attestation, authenticator data and client data built byte by byte as a
 * browser and a platform authenticator would, and assertions signed with the key. Every field a
 * test may want wrong (origin, relying party id, flags, counter, challenge, user handle) can be
 * overridden, so each refusal is tested by changing one thing.
 *
 *   const device = createSoftAuthenticator({ origin: 'https://learn.example.org' })
 *   const credential = device.register(options)               // to POST /api/passkeys
 *   const assertion = device.assert(requestOptions, credential) // to POST /api/login/passkey
 */

/** Flags of the authenticator data (WebAuthn §6.1). */
export const FLAG_USER_PRESENT = 0x01
export const FLAG_USER_VERIFIED = 0x04
const FLAG_ATTESTED_DATA = 0x40

/** What the server's options say, as much as an authenticator reads. */
export interface CreationOptions {
  challenge: string
  rp: { id?: string; name: string }
  user: { id: string; name: string; displayName: string }
  excludeCredentials?: Array<{ id: string }>
}
export interface RequestOptions {
  challenge: string
  rpId?: string
}

/** One credential the authenticator holds: its key, its counter, the account's user handle. */
export interface SoftCredential {
  id: string
  privateKey: KeyObject
  publicKey: KeyObject
  userHandle: string
  counter: number
}

export interface CeremonyOverrides {
  origin?: string
  rpId?: string
  challenge?: string
  type?: string
  /** The authenticator data's flags; user present and user verified by default. */
  flags?: number
  /** The counter to report (a sign-in otherwise reports the stored one plus 1). */
  counter?: number
  userHandle?: string | null
}

// A minimal CBOR encoder (RFC 8949): unsigned and negative integers, byte strings, text strings,
// maps. Enough for an attestation object and a COSE key, and independent of the server's decoder.
function cborHead(major: number, value: number): Buffer {
  if (value < 24) return Buffer.from([(major << 5) | value])
  if (value < 0x100) return Buffer.from([(major << 5) | 24, value])
  if (value < 0x10000) {
    const b = Buffer.alloc(3)
    b[0] = (major << 5) | 25
    b.writeUInt16BE(value, 1)
    return b
  }
  const b = Buffer.alloc(5)
  b[0] = (major << 5) | 26
  b.writeUInt32BE(value, 1)
  return b
}
type Cbor = number | string | Buffer | Map<Cbor, Cbor>
function cbor(value: Cbor): Buffer {
  if (typeof value === 'number') return value >= 0 ? cborHead(0, value) : cborHead(1, -1 - value)
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8')
    return Buffer.concat([cborHead(3, bytes.length), bytes])
  }
  if (Buffer.isBuffer(value)) return Buffer.concat([cborHead(2, value.length), value])
  const parts = [cborHead(5, value.size)]
  for (const [key, item] of value) parts.push(cbor(key), cbor(item))
  return Buffer.concat(parts)
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest()
const b64url = (data: Buffer) => data.toString('base64url')

function clientData(type: string, challenge: string, origin: string): Buffer {
  return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }), 'utf8')
}

function counterBytes(counter: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(counter, 0)
  return b
}

/** The credential's public key as COSE (EC2, P-256, ES256). */
function coseKey(publicKey: KeyObject): Buffer {
  const jwk = publicKey.export({ format: 'jwk' })
  return cbor(
    new Map<Cbor, Cbor>([
      [1, 2], // kty: EC2
      [3, -7], // alg: ES256
      [-1, 1], // crv: P-256
      [-2, Buffer.from(jwk.x!, 'base64url')],
      [-3, Buffer.from(jwk.y!, 'base64url')],
    ]),
  )
}

export function createSoftAuthenticator(defaults: { origin: string }) {
  const aaguid = Buffer.alloc(16)

  return {
    /** Makes a credential for these creation options: navigator.credentials.create() as JSON. */
    register(options: CreationOptions, overrides: CeremonyOverrides = {}) {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      const id = randomBytes(16)
      const rpId = overrides.rpId ?? options.rp.id!
      const counter = overrides.counter ?? 0
      const flags = (overrides.flags ?? FLAG_USER_PRESENT | FLAG_USER_VERIFIED) | FLAG_ATTESTED_DATA
      const idLength = Buffer.alloc(2)
      idLength.writeUInt16BE(id.length, 0)
      const authData = Buffer.concat([
        sha256(rpId),
        Buffer.from([flags]),
        counterBytes(counter),
        aaguid,
        idLength,
        id,
        coseKey(publicKey),
      ])
      const attestationObject = cbor(
        new Map<Cbor, Cbor>([
          ['fmt', 'none'],
          ['attStmt', new Map()],
          ['authData', authData],
        ]),
      )
      const clientDataJSON = clientData(
        overrides.type ?? 'webauthn.create',
        overrides.challenge ?? options.challenge,
        overrides.origin ?? defaults.origin,
      )
      const credential: SoftCredential = {
        id: b64url(id),
        privateKey,
        publicKey,
        userHandle: options.user.id,
        counter,
      }
      const json = {
        id: credential.id,
        rawId: credential.id,
        type: 'public-key',
        authenticatorAttachment: 'platform',
        clientExtensionResults: {},
        response: {
          clientDataJSON: b64url(clientDataJSON),
          attestationObject: b64url(attestationObject),
          transports: ['internal'],
        },
      }
      return { credential, json }
    },

    /** Signs an assertion for these request options: navigator.credentials.get() as JSON. */
    assert(options: RequestOptions, credential: SoftCredential, overrides: CeremonyOverrides = {}) {
      const rpId = overrides.rpId ?? options.rpId!
      const counter = overrides.counter ?? credential.counter + 1
      credential.counter = Math.max(credential.counter, counter)
      const flags = overrides.flags ?? FLAG_USER_PRESENT | FLAG_USER_VERIFIED
      const authenticatorData = Buffer.concat([sha256(rpId), Buffer.from([flags]), counterBytes(counter)])
      const clientDataJSON = clientData(
        overrides.type ?? 'webauthn.get',
        overrides.challenge ?? options.challenge,
        overrides.origin ?? defaults.origin,
      )
      const signature = sign(
        'sha256',
        Buffer.concat([authenticatorData, sha256(clientDataJSON)]),
        credential.privateKey,
      )
      const userHandle = overrides.userHandle === undefined ? credential.userHandle : overrides.userHandle
      return {
        id: credential.id,
        rawId: credential.id,
        type: 'public-key',
        authenticatorAttachment: 'platform',
        clientExtensionResults: {},
        response: {
          clientDataJSON: b64url(clientDataJSON),
          authenticatorData: b64url(authenticatorData),
          signature: b64url(signature),
          ...(userHandle === null ? {} : { userHandle }),
        },
      }
    },
  }
}

export type SoftAuthenticator = ReturnType<typeof createSoftAuthenticator>
