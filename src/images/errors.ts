export type RejectionReason = 'unsupported_format' | 'dimensions' | 'invalid'

/** The only three things a client is ever told about a refused image (contract §5). */
export const REJECTION_MESSAGES: Readonly<Record<RejectionReason, string>> = Object.freeze({
  unsupported_format: 'Unsupported image format',
  dimensions: 'Image dimensions too large',
  invalid: 'Invalid image',
})

/** Facts about the refused file, known so far, for the `upload_rejected` log line. */
export interface RejectionFacts {
  format?: string | null
  width?: number | null
  height?: number | null
  frames?: number | null
}

/**
 * An upload refused because of its content. `message` and `publicMessage` are always one of
 * the three contract messages, safe to send; `detail` says precisely why, for the log only
 * (it may quote decoder output, which a client has no business reading).
 */
export class ImageRejectedError extends Error {
  readonly reason: RejectionReason
  readonly publicMessage: string
  readonly format: string | null
  readonly width: number | null
  readonly height: number | null
  readonly frames: number | null
  readonly detail: string

  constructor(reason: RejectionReason, detail: string, facts: RejectionFacts = {}) {
    const publicMessage = REJECTION_MESSAGES[reason]
    super(publicMessage)
    this.name = 'ImageRejectedError'
    this.reason = reason
    this.publicMessage = publicMessage
    this.detail = detail
    this.format = facts.format ?? null
    this.width = facts.width ?? null
    this.height = facts.height ?? null
    this.frames = facts.frames ?? null
  }
}

export const unsupportedFormat = (detail: string, facts?: RejectionFacts) =>
  new ImageRejectedError('unsupported_format', detail, facts)
export const dimensionsTooLarge = (detail: string, facts?: RejectionFacts) =>
  new ImageRejectedError('dimensions', detail, facts)
export const invalidImage = (detail: string, facts?: RejectionFacts) => new ImageRejectedError('invalid', detail, facts)
