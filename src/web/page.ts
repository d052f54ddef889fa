import type { FastifyReply, FastifyRequest } from 'fastify'
import type { RegistrationMode } from '../config/index.ts'
import type { RequestUser } from '../http/request-context.ts'
import type { Assets } from './assets.ts'
import type { Views } from './views.ts'

/**
 * Messages a redirect can ask the next page to show (`?notice=profile-saved`). Only these fixed
 * texts are ever shown: nothing from the query string reaches the page.
 */
export const NOTICES = {
  welcome: 'Welcome to Lectern. Your account is ready. We have sent you a link to confirm your email address.',
  'check-email':
    'Your account is created. We have sent a link to your email address: open it and confirm, then sign in here.',
  'email-verified': 'Your email address is verified. Thank you.',
  'verification-sent': 'We have sent a new link to your email address. It works for 24 hours.',
  'verification-capped':
    'We have already sent several links in the last hour. Please use one of those, or try again later.',
  'already-verified': 'Your email address is already verified.',
  'signed-in': 'You are signed in.',
  'signed-out': 'You are signed out.',
  'profile-saved': 'Your profile is saved.',
  'password-changed': 'Your password is changed. Any other device you were signed in on has been signed out.',
  'password-reset':
    'Your password is changed, and every device that was signed in is signed out. Sign in with the new one.',
  'avatar-updated': 'Your new picture is in place.',
  'passkey-added': 'Your passkey is added. Next time, sign in with it instead of your password.',
  'passkey-removed': 'The passkey is removed: it no longer signs you in.',
  enrolled: 'You are enrolled. Enjoy the course!',
  completed: 'Lesson marked as complete.',
  'quiz-passed': 'You passed the quiz: the lesson is complete.',
  'quiz-failed': 'Not passed yet. Look again at the questions below and try again.',
  'course-certified': 'You completed the course! Your certificate is in My learning.',
  'user-updated': 'The account is updated.',
  'user-deleted': 'The account is deleted.',
  'content-updated': 'The catalogue is updated.',
  'content-deleted': 'Deleted from the catalogue.',
  'invitation-accepted': 'Welcome to Lectern. Your account is ready, and you are enrolled in this course.',
  'invited-welcome': 'Welcome to Lectern. Your account is ready.',
  'invitation-revoked': 'The invitation is revoked: its link no longer works.',
  'two-factor-required':
    'Your role needs two-factor sign-in. Set it up below to go on using Lectern; until then only this page works.',
  'two-factor-enabled': 'Two-factor sign-in is on.',
  'two-factor-disabled': 'Two-factor sign-in is off.',
  'second-factors-removed': "The account's second factors are removed and its sessions ended.",
} as const
export type NoticeKey = keyof typeof NOTICES

function noticeFrom(req: FastifyRequest): string | null {
  const key = (req.query as Record<string, unknown> | null)?.notice
  return typeof key === 'string' && Object.hasOwn(NOTICES, key) ? NOTICES[key as NoticeKey] : null
}

/** What the layout needs on every page. */
export interface PageFrame {
  title: string
  /** The path being shown, to mark the current link in the navigation. */
  path: string
  viewer: RequestUser | null
  /** How the signed-in person is named in the header (display name, else username), with their picture. */
  viewerProfile: ViewerProfile | null
  /** For the forms on the page and the `<meta name="csrf-token">` scripts read; null when none is needed. */
  csrfToken: string | null
  csrfTtlSeconds: number
  assets: { script: string; styles: string; icon: string }
  notice: string | null
  requestId: string
  /** REGISTRATION: pages invite visitors to create an account only when they can. */
  registration: RegistrationMode
}

export interface PageOptions {
  title: string
  status?: number
  /** The page holds a form: issue a CSRF token even for a visitor who is not signed in. */
  forms?: boolean
}

/** The signed-in person as the header shows them. */
export interface ViewerProfile {
  name: string
  avatarUrl: string | null
}

export interface Pages {
  /**
   * Where the header finds the signed-in person's name and picture: set once by the page routes,
   * which have the accounts service (the site is drawn before the services exist).
   */
  describeViewersWith(lookup: (userId: number) => Promise<ViewerProfile | null>): void
  /** Renders `view` inside the layout and sends it; the page is never cached (tokens, personal data). */
  send(
    req: FastifyRequest,
    reply: FastifyReply,
    view: string,
    data: object,
    options: PageOptions,
  ): Promise<FastifyReply>
}

export function pathOf(url: string): string {
  const query = url.indexOf('?')
  return query === -1 ? url : url.slice(0, query)
}

export function createPages(deps: {
  views: Views
  assets: Assets
  csrfTtlMs: number
  registration: RegistrationMode
}): Pages {
  const { views, assets } = deps
  const assetUrls = { script: assets.url('app.js'), styles: assets.url('styles.css'), icon: assets.url('icon.svg') }
  let describeViewer: (userId: number) => Promise<ViewerProfile | null> = async () => null
  return {
    describeViewersWith(lookup) {
      describeViewer = lookup
    },
    async send(req, reply, view, data, options) {
      // A signed-in page always has the sign-out form in its navigation; a visitor's page needs a
      // token (and so a session) only when it has a form of its own.
      const needsToken = options.forms === true || req.user !== null
      const page: PageFrame = {
        title: options.title,
        path: pathOf(req.url),
        viewer: req.user,
        viewerProfile: req.user === null ? null : await describeViewer(req.user.id),
        csrfToken: needsToken ? await req.csrfToken() : null,
        csrfTtlSeconds: Math.floor(deps.csrfTtlMs / 1000),
        assets: assetUrls,
        notice: noticeFrom(req),
        requestId: req.id,
        registration: deps.registration,
      }
      const html = views.render(`/pages/${view}`, { ...data, page })
      return reply
        .code(options.status ?? 200)
        .header('Cache-Control', 'no-store')
        .type('text/html; charset=utf-8')
        .send(html)
    },
  }
}

/** 303 See Other: after a form post, the browser GETs the next page (reloading it posts nothing). */
export function seeOther(reply: FastifyReply, path: string, notice?: NoticeKey): FastifyReply {
  const location = notice ? `${path}${path.includes('?') ? '&' : '?'}notice=${notice}` : path
  return reply.header('Cache-Control', 'no-store').redirect(location, 303)
}

/**
 * onSend hook of the pages whose address holds a token (reset and verification links): no link
 * followed from them, and no resource they load, may carry that address to anyone in a Referer.
 * Set on every answer of the route, error pages included (the security headers keep a header a
 * route set itself).
 */
export async function noReferrer(_req: FastifyRequest, reply: FastifyReply) {
  reply.header('referrer-policy', 'no-referrer')
}
