import { browserSupportsWebAuthn, startAuthentication, startRegistration } from '@simplewebauthn/browser'
import type { CsrfClient } from './csrf.ts'

/**
 * Passkeys in the browser (CONTRACT §11): "Add a passkey" on /profile and "Sign in with a passkey"
 * on /login. Both are WebAuthn ceremonies, which only a script can run: the server sends options,
 * the browser asks the authenticator (fingerprint, face, PIN), the answer goes back as JSON.
 * Without JavaScript the profile says so and the login page shows the password form alone; where
 * the browser has no WebAuthn, the same.
 */

/** What a refusal says to people: the API's message, or a sentence for the browser's own errors. */
async function problemOf(res: Response, fallback: string): Promise<string> {
  try {
    const body = (await res.json()) as { error?: unknown }
    return typeof body.error === 'string' ? `${body.error}.` : fallback
  } catch {
    return fallback
  }
}

/** The browser's refusal (cancelled, timed out, no authenticator) in words, without blaming anyone. */
function ceremonyProblem(error: unknown, what: string): string {
  if (error instanceof Error && error.name === 'NotAllowedError') return `${what} was cancelled or timed out.`
  if (error instanceof Error && error.name === 'InvalidStateError') return 'This device already holds a passkey here.'
  return `${what} did not work on this device.`
}

const postJson = (csrf: CsrfClient, url: string, body?: unknown) =>
  csrf.fetch(url, {
    method: 'POST',
    headers: { Accept: 'application/json', ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })

/** Only a path on this site, never `//elsewhere` or a URL: the server sends a checked one already. */
function localTarget(path: string | undefined): string {
  return path && path.startsWith('/') && !path.startsWith('//') && !path.startsWith('/\\') ? path : '/'
}

function enhanceAddPasskey(doc: Document, csrf: CsrfClient, go: (url: string) => void): void {
  const panel = doc.querySelector<HTMLElement>('[data-passkey-add]')
  const button = panel?.querySelector<HTMLButtonElement>('[data-passkey-add-button]')
  const status = doc.getElementById('passkey-add-status')
  const nameInput = doc.querySelector<HTMLInputElement>('#passkey-name')
  const needsJs = doc.querySelector<HTMLElement>('[data-passkey-needs-js]')
  if (!panel || !button || !status) return
  if (!browserSupportsWebAuthn()) {
    if (needsJs) needsJs.textContent = 'This browser cannot use passkeys. A recent browser can.'
    return
  }
  if (needsJs) needsJs.hidden = true
  panel.hidden = false

  button.addEventListener('click', () => {
    button.disabled = true
    status.textContent = ''
    void (async () => {
      try {
        const optionsRes = await postJson(csrf, '/api/passkeys/registration/options')
        if (!optionsRes.ok) {
          status.textContent = await problemOf(optionsRes, 'The passkey could not be started. Please try again.')
          return
        }
        let credential
        try {
          credential = await startRegistration({ optionsJSON: await optionsRes.json() })
        } catch (error) {
          status.textContent = ceremonyProblem(error, 'Adding the passkey')
          return
        }
        const name = nameInput?.value.trim()
        const res = await postJson(csrf, '/api/passkeys', { credential, ...(name ? { name } : {}) })
        if (res.status === 201) {
          go('/profile?notice=passkey-added')
          return
        }
        status.textContent = await problemOf(res, 'The passkey was not added. Please try again.')
      } catch {
        status.textContent = 'The passkey was not added: the connection failed. Please try again.'
      } finally {
        button.disabled = false
      }
    })()
  })
}

function enhancePasskeySignIn(doc: Document, csrf: CsrfClient, go: (url: string) => void): void {
  const panel = doc.querySelector<HTMLElement>('[data-passkey-sign-in]')
  const button = panel?.querySelector<HTMLButtonElement>('[data-passkey-sign-in-button]')
  const status = doc.getElementById('passkey-sign-in-status')
  if (!panel || !button || !status || !browserSupportsWebAuthn()) return
  panel.hidden = false

  button.addEventListener('click', () => {
    button.disabled = true
    status.textContent = ''
    void (async () => {
      try {
        const optionsRes = await postJson(csrf, '/api/login/passkey/options')
        if (!optionsRes.ok) {
          status.textContent = await problemOf(optionsRes, 'Signing in could not be started. Please try again.')
          return
        }
        let credential
        try {
          credential = await startAuthentication({ optionsJSON: await optionsRes.json() })
        } catch (error) {
          status.textContent = ceremonyProblem(error, 'Signing in with a passkey')
          return
        }
        const res = await postJson(csrf, '/api/login/passkey', { credential })
        if (res.ok) {
          go(localTarget(panel.dataset.afterSignIn))
          return
        }
        status.textContent = await problemOf(res, 'That passkey did not sign you in. Please try again.')
      } catch {
        status.textContent = 'Signing in failed: the connection failed. Please try again.'
      } finally {
        button.disabled = false
      }
    })()
  })
}

export function enhancePasskeys(doc: Document, csrf: CsrfClient, go: (url: string) => void): void {
  enhanceAddPasskey(doc, csrf, go)
  enhancePasskeySignIn(doc, csrf, go)
}
