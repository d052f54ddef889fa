import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { HttpError, unauthorized } from '../../http/errors.ts'
import {
  BIO_MAX_LENGTH,
  DISPLAY_NAME_MAX_LENGTH,
  EMAIL_MAX_LENGTH,
  passwordChangeBodySchema,
  profileBodySchema,
} from '../../modules/accounts/accounts.schemas.ts'
import { WRONG_CURRENT_PASSWORD_MESSAGE, type AccountsService } from '../../modules/accounts/accounts.service.ts'
import { PASSWORD_CHECK_POLICIES } from '../../modules/accounts/accounts.routes.ts'
import type { CredentialsService } from '../../modules/accounts/credentials.service.ts'
import { requestVerificationLink } from '../../modules/accounts/email-verification.flows.ts'
import type {
  EmailVerificationService,
  VerificationLinkOutcome,
} from '../../modules/accounts/email-verification.service.ts'
import { saveProfile } from '../../modules/accounts/profile.flows.ts'
import { presentUser } from '../../modules/accounts/user.presenter.ts'
import { AVATAR_FIELD, type AvatarsService } from '../../modules/avatars/avatars.service.ts'
import { createLingeringCloser } from '../../http/uploads/lingering-close.ts'
import { prepareUploadScope } from '../../http/uploads/upload-scope.ts'
import {
  declaredTooLarge,
  maxBodyBytes,
  readFileUpload,
  UploadRefusedError,
  type UploadLimits,
} from '../../http/uploads/read-upload.ts'
import { uploadRejection, uploadsBusy } from '../../modules/avatars/upload-rejections.ts'
import { signedIn } from '../../security/authz.ts'
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../../security/passwords.ts'
import type { RateLimits } from '../../security/rate-limit/service.ts'
import type { createFormChecks } from '../form-validation.ts'
import { emptyForm, formValues, noteFormProblem, submitForm, type FormState } from '../forms.ts'
import { seeOther, type NoticeKey, type Pages } from '../page.ts'
import type { UploadSlots } from '../../http/uploads/upload-slots.ts'
import { notFound } from '../../http/errors.ts'
import { presentPasskey } from '../../modules/passkeys/passkey.presenter.ts'
import { PASSKEY_NOT_FOUND_MESSAGE } from '../../modules/passkeys/passkeys.routes.ts'
import { passkeyIdParamsSchema, type PasskeyIdParams } from '../../modules/passkeys/passkeys.schemas.ts'
import { PASSKEY_NAME_MAX_LENGTH, type PasskeysService } from '../../modules/passkeys/passkeys.service.ts'
import type { SecondFactors } from '../../modules/two-factor/second-factors.ts'
import type { twoFactorSection } from './two-factor.routes.ts'

export interface ProfilePagesOptions {
  pages: Pages
  accounts: AccountsService
  credentials: CredentialsService
  verification: EmailVerificationService
  limits: RateLimits
  avatars: AvatarsService
  passkeys: Pick<PasskeysService, 'list' | 'remove'>
  forms: ReturnType<typeof createFormChecks>
  /** MAX_UPLOAD_BYTES. */
  maxUploadBytes: number
  /** The uploads received or processed at once, shared with POST /api/upload-avatar. */
  uploadSlots: UploadSlots
  /** Counts an accepted image, as the API does (observability/metrics.ts). */
  imageAccepted(): void
  secondFactors: Pick<SecondFactors, 'enabled'>
  /** The "Two-factor sign-in" section's state (pages/two-factor.routes.ts). */
  twoFactorSection: ReturnType<typeof twoFactorSection>
}

const PROFILE_FIELDS = ['display_name', 'bio', 'email'] as const
const PASSWORD_FIELDS = ['current_password', 'new_password'] as const
const PROFILE_ERRORS = {
  display_name: `At most ${DISPLAY_NAME_MAX_LENGTH} characters.`,
  bio: `At most ${BIO_MAX_LENGTH} characters.`,
  email: 'Enter a valid email address, like ada@example.com.',
}
const PASSWORD_ERRORS = {
  current_password: 'Enter your current password.',
  new_password: `Choose a password of at least ${MIN_PASSWORD_LENGTH} characters (at most ${MAX_PASSWORD_LENGTH}).`,
}
const LIMITS = {
  displayName: DISPLAY_NAME_MAX_LENGTH,
  bio: BIO_MAX_LENGTH,
  email: EMAIL_MAX_LENGTH,
  passwordMin: MIN_PASSWORD_LENGTH,
  passwordMax: MAX_PASSWORD_LENGTH,
  passkeyName: PASSKEY_NAME_MAX_LENGTH,
}

/** What the profile says after "send the link again", by what came of it. */
const VERIFICATION_NOTICES = {
  sent: 'verification-sent',
  capped: 'verification-capped',
  already_verified: 'already-verified',
} as const satisfies Record<VerificationLinkOutcome, NoticeKey>

/** `5242880` → `5 MB`, `262144` → `256 KB`, `1572864` → `1.5 MB`: a size as people read it. */
export function sizeLabel(bytes: number): string {
  const units: Array<[number, string]> = [
    [1024 * 1024, 'MB'],
    [1024, 'KB'],
  ]
  for (const [unit, name] of units) {
    if (bytes >= unit) return `${Number((bytes / unit).toFixed(1))} ${name}`
  }
  return `${bytes} bytes`
}

/** The three forms of the profile page, each in the state it is shown in. */
interface ProfileForms {
  profile?: FormState
  password?: FormState
  avatar?: FormState
}

/**
 * `/profile`: the picture (multipart upload through the avatars module's own reader, checks and
 * service), the public details, the password and the passkeys, each a form that works without
 * JavaScript (adding a passkey excepted: WebAuthn is a browser API).
 * The script (src/web/client/avatar-preview.ts) shows the chosen picture before it is sent.
 */
export async function profilePages(app: FastifyInstance, opts: ProfilePagesOptions) {
  const { pages, accounts, credentials, verification, limits, avatars } = opts
  const checkProfile = opts.forms.compile(profileBodySchema, PROFILE_ERRORS)
  const checkPassword = opts.forms.compile(passwordChangeBodySchema, PASSWORD_ERRORS)
  const uploadLimits: UploadLimits = { maxFileBytes: opts.maxUploadBytes }

  async function profilePage(req: FastifyRequest, reply: FastifyReply, forms: ProfileForms = {}, status = 200) {
    const record = await accounts.findUser(signedIn(req).user.id)
    if (!record) throw unauthorized()
    const user = presentUser(record, await opts.secondFactors.enabled(record.id))
    return pages.send(
      req,
      reply,
      'profile',
      {
        user,
        profileForm: forms.profile ?? emptyForm({ display_name: user.display_name, bio: user.bio, email: user.email }),
        passwordForm: forms.password ?? emptyForm(),
        avatarForm: forms.avatar ?? emptyForm(),
        passkeys: (await opts.passkeys.list(user.id)).map(presentPasskey),
        limits: LIMITS,
        verificationRequired: verification.required,
        maxUploadBytes: opts.maxUploadBytes,
        maxUploadSize: sizeLabel(opts.maxUploadBytes),
        twoFactor: await opts.twoFactorSection(record),
      },
      { title: 'Your profile', status },
    )
  }

  /** A form's problem, shown at the top of that form: what request_complete reports too. */
  const withProblem = (req: FastifyRequest, fields: readonly string[], message: string): FormState => ({
    ...emptyForm(formValues(req.body, fields)),
    formError: message,
  })

  // Open to an account that REQUIRE_2FA_FOR sends here to set up a second factor.
  app.get('/profile', { config: { access: 'user', html: true, secondFactorSetup: true } }, async (req, reply) =>
    profilePage(req, reply),
  )

  app.post(
    '/profile',
    {
      config: {
        access: 'user',
        html: true,
        redisplayForm: (req, reply, problem) =>
          profilePage(req, reply, { profile: withProblem(req, PROFILE_FIELDS, problem.message) }, problem.status),
      },
    },
    async (req, reply) =>
      submitForm(req, {
        fields: PROFILE_FIELDS,
        check: checkProfile,
        invalidMessage: 'Invalid profile form',
        show: (form, status) => profilePage(req, reply, { profile: form }, status),
        async act(values) {
          await saveProfile(signedIn(req), { accounts, limits, verification }, values)
          return seeOther(reply, '/profile', 'profile-saved')
        },
      }),
  )

  // "Send the link again": counted per client IP with POST /api/email/verification and the reset
  // requests (RATE_LIMIT_PASSWORD_RESET), on top of the cap per account.
  app.post(
    '/profile/email-verification',
    { config: { access: 'user', html: true, rateLimit: 'password_reset' } },
    async (req, reply) => {
      const user = await accounts.findUser(signedIn(req).user.id)
      if (!user) throw unauthorized()
      const outcome = await requestVerificationLink(req, verification, user)
      return seeOther(reply, '/profile', VERIFICATION_NOTICES[outcome])
    },
  )

  app.post(
    '/profile/password',
    {
      config: {
        access: 'user',
        html: true,
        // The same policies as POST /api/profile/password, counted together.
        rateLimit: PASSWORD_CHECK_POLICIES,
        redisplayForm: (req, reply, problem) =>
          profilePage(req, reply, { password: { ...emptyForm(), formError: problem.message } }, problem.status),
      },
    },
    async (req, reply) =>
      submitForm(req, {
        fields: PASSWORD_FIELDS,
        check: checkPassword,
        invalidMessage: 'Invalid password form',
        // No current password was checked: the attempt reserved for one is given back.
        onInvalid: () => req.refundRateLimits(),
        // A refusal of the new password by the rules is shown next to it, whatever it names.
        serviceFields: ['new_password'],
        show: (form, status) => {
          const errors = form.formError ? { new_password: form.formError } : form.errors
          return profilePage(req, reply, { password: { values: {}, errors, formError: null } }, status)
        },
        async act(values) {
          const outcome = await credentials.changePassword(
            signedIn(req),
            values.current_password!,
            values.new_password!,
            {
              via: 'form',
            },
          )
          if (outcome === 'no_account') throw unauthorized()
          if (outcome === 'wrong_current_password') {
            noteFormProblem(req, WRONG_CURRENT_PASSWORD_MESSAGE, 'HttpError')
            const errors = { current_password: `${WRONG_CURRENT_PASSWORD_MESSAGE}.` }
            return profilePage(req, reply, { password: { values: {}, errors, formError: null } }, 400)
          }
          return seeOther(reply, '/profile', 'password-changed')
        },
      }),
  )

  // "Remove" next to a passkey: a form per passkey, so removing works without JavaScript. Adding
  // one needs the browser's WebAuthn API, so it is the script's (src/web/client/passkeys.ts).
  app.post<{ Params: PasskeyIdParams }>(
    '/profile/passkeys/:id/delete',
    { config: { access: 'user', html: true, secondFactorSetup: true }, schema: { params: passkeyIdParamsSchema } },
    async (req, reply) => {
      const removed = await opts.passkeys.remove(signedIn(req), req.params.id, { via: 'form' })
      if (!removed) throw notFound(PASSKEY_NOT_FOUND_MESSAGE)
      return seeOther(reply, '/profile', 'passkey-removed')
    },
  )

  // The picture form is multipart: in a scope of its own, as the avatars module does it, so no
  // other parser reads a body here and multipart parsing exists nowhere else.
  const closer = createLingeringCloser()
  app.addHook('preClose', async () => closer.closeAll())
  await app.register(async (upload) => {
    await prepareUploadScope(upload, uploadLimits, closer)

    const avatarProblem = (req: FastifyRequest, reply: FastifyReply, message: string, status: number) => {
      noteFormProblem(req, message, 'HttpError')
      const avatar = { values: {}, errors: { avatar: message }, formError: null }
      return profilePage(req, reply, { avatar }, status)
    }

    upload.post(
      '/profile/avatar',
      {
        config: {
          access: 'user',
          html: true,
          // The same per-user policy as POST /api/upload-avatar, counted together.
          rateLimit: 'avatar',
          // csrf_token is the form's first field, checked before any file byte is read.
          csrf: 'multipart',
          redisplayForm: (req, reply, problem) => avatarProblem(req, reply, problem.message, problem.status),
        },
        // After access control; before a byte of the body is read, an announced oversize is refused.
        preHandler: async (req, reply) => {
          if (!declaredTooLarge(req, uploadLimits)) return
          const detail = `Content-Length ${String(req.headers['content-length'])} over ${maxBodyBytes(uploadLimits)} bytes`
          const refusal = uploadRejection(req, new UploadRefusedError('too_large', 0, detail), null) as HttpError
          reply.headers(refusal.headers)
          return avatarProblem(req, reply, refusal.publicMessage, refusal.statusCode)
        },
        // The API's bound on uploads held in memory at once covers this form too: one pool.
        onRequest: async (req, reply) => {
          const release = opts.uploadSlots.tryAcquire()
          if (release === null) throw uploadsBusy(req, opts.uploadSlots.inUse)
          reply.raw.once('close', release)
        },
      },
      async (req, reply) => {
        let fileBytes: number | null = null
        try {
          const file = await readFileUpload(req, uploadLimits, AVATAR_FIELD)
          fileBytes = file.length
          await avatars.replace(signedIn(req).user.id, file)
          opts.imageAccepted()
        } catch (error) {
          const refusal = uploadRejection(req, error, fileBytes)
          // A refused image (400, 413) is shown next to the field; anything else (the CSRF 403,
          // a 401) goes to the error handler like any error.
          if (refusal instanceof HttpError && (refusal.statusCode === 400 || refusal.statusCode === 413)) {
            reply.headers(refusal.headers)
            return avatarProblem(req, reply, refusal.publicMessage, refusal.statusCode)
          }
          throw refusal
        }
        return seeOther(reply, '/profile', 'avatar-updated')
      },
    )
  })
}
