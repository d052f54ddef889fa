/** The two kinds of work the catalog holds: a course of lessons, an ebook of chapters. */
export type ContentKind = 'course' | 'ebook'
