import type { FastifyReply, FastifyRequest } from 'fastify'
import { HttpError } from '../http/errors.ts'

/** What a POST route shows when a request is refused before its handler runs, with the fields kept. */
export interface FormProblem {
  message: string
  status: number
}

/** Re-renders a route's form: see `redisplayForm` below. */
export type FormRedisplay = (req: FastifyRequest, reply: FastifyReply, problem: FormProblem) => Promise<FastifyReply>

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * How this form-handling POST route shows its form again with a message, the fields as sent
     * (never a password) and a fresh CSRF token. The HTML error pages use it when the request is
     * refused before the handler runs (an expired CSRF token), so what a person typed is not lost.
     */
    redisplayForm?: FormRedisplay
  }
}

/** The state a form is drawn in: what was typed, and what is wrong with it. */
export interface FormState {
  values: Record<string, string>
  /** field name → message shown next to that field. */
  errors: Record<string, string>
  /** A message about the whole form, shown above it. */
  formError: string | null
}

export const emptyForm = (values: Record<string, string> = {}): FormState => ({ values, errors: {}, formError: null })

/** Shown when a form's CSRF token was refused (expired, or its session ended). */
export const FORM_EXPIRED_MESSAGE = 'The form expired, please try again.'

/**
 * The named fields of a parsed urlencoded body, as strings ('' when absent or repeated). Anything
 * else the body holds is ignored: handlers pass the service only the fields they name.
 */
export function formValues(body: unknown, fields: readonly string[]): Record<string, string> {
  const source = body !== null && typeof body === 'object' ? (body as Record<string, unknown>) : {}
  const values: Record<string, string> = {}
  for (const field of fields) {
    const value = Object.hasOwn(source, field) ? source[field] : undefined
    values[field] = typeof value === 'string' ? value : ''
  }
  return values
}

/** `display_name must be a single line` → `Display name must be a single line`. */
export function humanize(message: string): string {
  return message
    .replace(/\b([a-z]+)_([a-z]+)\b/g, (_all, a: string, b: string) => `${a} ${b}`)
    .replace(/^./, (c) => c.toUpperCase())
}

/**
 * Which field a service's message is about: the form field it names first (`Username already
 * taken` → username, `Password must not be the same as the username` → password), or null when
 * it names none.
 */
export function fieldOfMessage(message: string, fields: readonly string[]): string | null {
  const lower = message.toLowerCase()
  let best: { field: string; at: number } | null = null
  for (const field of fields) {
    const words = [field, field.replaceAll('_', ' ')]
    for (const word of words) {
      const at = lower.search(new RegExp(`\\b${word.toLowerCase()}`))
      if (at !== -1 && (best === null || at < best.at)) best = { field, at }
    }
  }
  return best?.field ?? null
}

/**
 * A service's refusal (400/409 with a public message) as form state: next to the field it names,
 * or above the form. Anything else is not a form problem and is rethrown to the error handler.
 */
export function serviceErrors(
  error: unknown,
  fields: readonly string[],
): { errors: Record<string, string>; formError: string | null; status: number; message: string } {
  if (
    !(error instanceof HttpError) ||
    error.statusCode >= 500 ||
    error.statusCode === 401 ||
    error.statusCode === 429
  ) {
    throw error
  }
  const message = humanize(error.publicMessage)
  const field = fieldOfMessage(error.publicMessage, fields)
  return {
    errors: field ? { [field]: message } : {},
    formError: field ? null : message,
    status: error.statusCode,
    message: error.publicMessage,
  }
}

/** A form shown again with a problem is still an error response: request_complete says what it was. */
export function noteFormProblem(req: FastifyRequest, message: string, type = 'FormError') {
  req.ctx.error = { type, message }
}

/** One form post, as every page handles it: see submitForm. */
export interface FormSubmission {
  /** The fields the form posts. */
  fields: readonly string[]
  /** The schema's verdict on the typed values: field → message, empty when fine. */
  check(values: Record<string, string>): Record<string, string>
  /** What request_complete says of a form the schema refused (`Invalid profile form`). */
  invalidMessage: string
  /** What is shown again of what was typed (default: all of it; passwords are never kept). */
  kept?(values: Record<string, string>): Record<string, string>
  /** The fields a service's refusal may name (default: `fields`). */
  serviceFields?: readonly string[]
  /** Draws the form again with its problems, under `status`. */
  show(form: FormState, status: number): Promise<FastifyReply>
  /** Called when the schema refused the values, before they are shown again (a limit gives back an attempt). */
  onInvalid?(): Promise<void>
  /** Does what the form asks; its answer (usually a 303) is the response. Service refusals are shown. */
  act(values: Record<string, string>): Promise<FastifyReply>
}

const withoutPasswords = (values: Record<string, string>) =>
  Object.fromEntries(Object.entries(values).filter(([name]) => !/password/i.test(name)))

/**
 * Validate → act → refuse → redisplay, the one way every page form is handled: the typed values
 * are checked by the route's schema (each problem shown next to its field, 400), then the
 * service acts; a refusal it explains (400, 409) is shown next to the field it names, or above
 * the form. Anything else (401, 429, 5xx) goes to the error handler. What was typed is kept,
 * never a password, and request_complete names the problem.
 */
export async function submitForm(req: FastifyRequest, form: FormSubmission): Promise<FastifyReply> {
  const values = formValues(req.body, form.fields)
  const kept = withoutPasswords(form.kept ? form.kept(values) : values)
  const errors = form.check(values)
  if (Object.keys(errors).length > 0) {
    noteFormProblem(req, form.invalidMessage)
    await form.onInvalid?.()
    return form.show({ values: kept, errors, formError: null }, 400)
  }
  try {
    return await form.act(values)
  } catch (error) {
    const refusal = serviceErrors(error, form.serviceFields ?? form.fields)
    noteFormProblem(req, refusal.message, 'HttpError')
    return form.show({ values: kept, errors: refusal.errors, formError: refusal.formError }, refusal.status)
  }
}
