import type { PartSummary, WorkWithCount } from './catalog.repository.ts'
import type { NumberedPart } from './catalog.service.ts'
import type { ContentKind } from './content-kind.ts'

/** The JSON names of each kind: a course has lessons, an ebook chapters. */
export const NAMES = {
  course: { work: 'course', works: 'courses', part: 'lesson', parts: 'lessons', count: 'lesson_count' },
  ebook: { work: 'ebook', works: 'ebooks', part: 'chapter', parts: 'chapters', count: 'chapter_count' },
} as const satisfies Record<ContentKind, Record<string, string>>

type Json = Record<string, unknown>
const iso = (ms: number) => new Date(ms).toISOString()

/** A course or ebook in a list: no parts, no bodies. */
export function presentWork(kind: ContentKind, work: WorkWithCount): Json {
  return {
    slug: work.slug,
    title: work.title,
    description: work.description,
    published: work.published === 1,
    [NAMES[kind].count]: work.part_count,
    created_at: iso(work.created_at),
    updated_at: iso(work.updated_at),
  }
}

/** The table of contents: 1-based numbers and titles, in reading order. */
export function presentPartList(parts: readonly PartSummary[], decorate: (part: PartSummary) => Json = () => ({})) {
  return parts.map((part, index) => ({ n: index + 1, title: part.title, ...decorate(part) }))
}

/** One lesson or chapter with its body as sanitized HTML (never the Markdown source). */
export function presentPart(kind: ContentKind, numbered: NumberedPart, bodyHtml: string, extra: Json = {}): Json {
  const names = NAMES[kind]
  return {
    n: numbered.n,
    title: numbered.part.title,
    body_html: bodyHtml,
    ...extra,
    [names.work]: { slug: numbered.work.slug, title: numbered.work.title, [names.count]: numbered.work.part_count },
    updated_at: iso(numbered.part.updated_at),
  }
}

/** The Markdown source, for the editors who change it. */
export function presentPartSource(kind: ContentKind, numbered: NumberedPart): Json {
  return {
    n: numbered.n,
    title: numbered.part.title,
    body_markdown: numbered.part.body_markdown,
    [NAMES[kind].work]: { slug: numbered.work.slug },
    updated_at: iso(numbered.part.updated_at),
  }
}

// Response schemas: the serializer writes only the properties named here, so a column added to
// a query cannot reach a client by accident (and a Markdown source never reaches a reader).

type Properties = Record<string, object>

const object = (properties: Properties, required = Object.keys(properties)) => ({
  type: 'object',
  additionalProperties: false,
  required,
  properties,
})

const STRING = { type: 'string' }
const INTEGER = { type: 'integer' }

export function workSchema(kind: ContentKind, extra: Properties = {}) {
  return object({
    slug: STRING,
    title: STRING,
    description: STRING,
    published: { type: 'boolean' },
    [NAMES[kind].count]: INTEGER,
    created_at: STRING,
    updated_at: STRING,
    ...extra,
  })
}

export function partListSchema(extra: Properties = {}) {
  return { type: 'array', items: object({ n: INTEGER, title: STRING, ...extra }) }
}

export function partSchema(kind: ContentKind, extra: Properties = {}) {
  const names = NAMES[kind]
  return object({
    n: INTEGER,
    title: STRING,
    body_html: STRING,
    ...extra,
    [names.work]: object({ slug: STRING, title: STRING, [names.count]: INTEGER }),
    updated_at: STRING,
  })
}

export function partSourceSchema(kind: ContentKind) {
  return object({
    n: INTEGER,
    title: STRING,
    body_markdown: STRING,
    [NAMES[kind].work]: object({ slug: STRING }),
    updated_at: STRING,
  })
}

/** `{"course": …}`, `{"lessons": […]}`: one named property. */
export const envelope = (name: string, schema: object) => object({ [name]: schema })
