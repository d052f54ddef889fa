/**
 * Who Lectern is to an authenticator: the relying party id (PUBLIC_URL's host name, without the
 * port, as WebAuthn wants it) and the one origin answers must come from (PUBLIC_URL's scheme,
 * host and port). Both come from configuration only, never from a request's Host header: a
 * passkey signs for the name it was made under, so a look-alike site relaying our pages gets
 * answers we refuse.
 */
export interface RelyingParty {
  readonly id: string
  readonly origin: string
}

export function relyingPartyOf(publicUrl: string): RelyingParty {
  const url = new URL(publicUrl)
  return { id: url.hostname, origin: url.origin }
}
