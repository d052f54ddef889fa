import { envelope, partListSchema, partSchema, workSchema } from '../catalog/catalog.presenter.ts'

export const readingPositionSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['chapter', 'position', 'percent', 'updated_at'],
  properties: {
    chapter: { type: 'integer' },
    position: { type: 'number' },
    percent: { type: 'number' },
    updated_at: { type: 'string' },
  },
} as const

const nullableReadingPosition = { anyOf: [{ type: 'null' }, readingPositionSchema] }

export const ebookListResponseSchema = envelope('ebooks', { type: 'array', items: workSchema('ebook') })

export const ebookResponseSchema = envelope(
  'ebook',
  workSchema('ebook', { chapters: partListSchema(), reading_position: nullableReadingPosition }),
)

export const chapterResponseSchema = envelope('chapter', partSchema('ebook'))

/**
 * PUT /api/ebooks/:slug/progress. `updated_at` is when the reader was there, from the device
 * (ISO 8601); without it the server's receive time is used.
 */
export const readingUpdateBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['chapter', 'position'],
  properties: {
    chapter: { type: 'integer', minimum: 1 },
    position: { type: 'number', minimum: 0, maximum: 1 },
    updated_at: { type: 'string', format: 'date-time', maxLength: 40 },
  },
} as const
export interface ReadingUpdateBody {
  chapter: number
  position: number
  updated_at?: string
}

export const readingUpdateResponseSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['reading_position', 'applied'],
  properties: { reading_position: nullableReadingPosition, applied: { type: 'boolean' } },
} as const

/** An ebook in GET /api/me/progress. */
export const readEbookSchema = workSchema('ebook', { reading_position: readingPositionSchema })
