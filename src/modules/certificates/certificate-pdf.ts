import PDFDocument from 'pdfkit'
import type { CertificateRow } from './certificates.repository.ts'

/**
 * Characters PDF's standard fonts can draw: pdfkit encodes Helvetica as WinAnsi (Windows-1252),
 * which is Latin-1 plus a few typographic marks. Embedding a font would draw every script but
 * ties the output to a font file on the server; instead a name outside WinAnsi is drawn in its
 * closest Latin form, and the page says where the exact name can be read (docs/content.md).
 */
const WIN_ANSI_EXTRAS = '€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ'
const isWinAnsi = (text: string) =>
  [...text].every((char) => {
    const code = char.codePointAt(0)!
    return (code >= 0x20 && code <= 0x7e) || (code >= 0xa0 && code <= 0xff) || WIN_ANSI_EXTRAS.includes(char)
  })

/** Latin letters Unicode does not decompose into a base letter and an accent. */
const LATIN_WITHOUT_DECOMPOSITION: Readonly<Record<string, string>> = {
  Ł: 'L', ł: 'l', Đ: 'D', đ: 'd', Ħ: 'H', ħ: 'h', ı: 'i', Ŧ: 'T', ŧ: 't', Ŋ: 'N', ŋ: 'n', Ə: 'E', ə: 'e',
} // prettier-ignore

/**
 * The text to draw for a name or title: itself when the standard fonts can draw it; else with
 * accents folded away ("Łukasz Dvořák" → "Lukasz Dvorak"); else what is left readable,
 * with `fallback` when nothing is.
 */
export function drawableText(text: string, fallback: string): { text: string; exact: boolean } {
  if (isWinAnsi(text)) return { text, exact: true }
  const folded = [...text.normalize('NFKD')]
    .filter((char) => !/\p{M}/u.test(char))
    .map((char) => LATIN_WITHOUT_DECOMPOSITION[char] ?? char)
    .map((char) => (isWinAnsi(char) ? char : '?'))
    .join('')
  const readable = folded.replace(/\?+/g, '').trim()
  // Mostly unreadable (a name in Cyrillic, Greek, CJK…): the fallback says more than question marks.
  if (readable.length * 2 < folded.replace(/\s/g, '').length) return { text: fallback, exact: false }
  return { text: folded.replace(/\?+/g, '').replace(/\s+/g, ' ').trim() || fallback, exact: false }
}

/** The smallest size a name or title is set at, however long it is. */
const MIN_FONT_SIZE = 12

/**
 * The largest size up to `size` at which `text` takes at most `lines` lines of `width`, so the
 * longest name and title (64 and 200 characters, even without a space) stay on the one page.
 */
function fittedSize(doc: PDFKit.PDFDocument, text: string, font: string, size: number, width: number, lines: number) {
  let fitted = size
  while (fitted > MIN_FONT_SIZE) {
    doc.font(font).fontSize(fitted)
    if (doc.heightOfString(text, { width, align: 'center' }) <= lines * doc.currentLineHeight(true)) break
    fitted -= 1
  }
  return fitted
}

/** The certificate as a one-page A4 landscape PDF (bytes start `%PDF`). */
export function renderCertificatePdf(row: CertificateRow, opts: { url: string; username: string }): Promise<Buffer> {
  const doc = new PDFDocument({
    size: 'A4',
    layout: 'landscape',
    margin: 56,
    info: { Title: 'Certificate of completion', Creator: 'Lectern', Producer: 'Lectern' },
  })
  const chunks: Buffer[] = []
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (chunk: Buffer) => chunks.push(chunk))
    doc.on('end', () => resolve(Buffer.concat(chunks)))
    doc.on('error', reject)
  })
  const name = drawableText(row.learner_name, opts.username)
  const title = drawableText(row.course_title, row.course_slug)
  const width = doc.page.width - 112
  const date = new Date(row.issued_at).toISOString().slice(0, 10)

  doc
    .rect(28, 28, doc.page.width - 56, doc.page.height - 56)
    .lineWidth(2)
    .stroke('#2b4c7e')
  doc.moveDown(3)
  doc.font('Helvetica').fontSize(16).fillColor('#444').text('Certificate of completion', { align: 'center', width })
  doc.moveDown(1.5)
  doc.fontSize(14).text('This certifies that', { align: 'center', width })
  doc.moveDown(0.5)
  const nameSize = fittedSize(doc, name.text, 'Helvetica-Bold', 30, width, 2)
  doc.font('Helvetica-Bold').fontSize(nameSize).fillColor('#111').text(name.text, { align: 'center', width })
  doc.moveDown(0.5)
  doc.font('Helvetica').fontSize(14).fillColor('#444').text('completed the course', { align: 'center', width })
  doc.moveDown(0.5)
  const titleSize = fittedSize(doc, title.text, 'Helvetica-Bold', 22, width, 3)
  doc.font('Helvetica-Bold').fontSize(titleSize).fillColor('#111').text(title.text, { align: 'center', width })
  doc.moveDown(1)
  doc.font('Helvetica').fontSize(12).fillColor('#444').text(`Issued on ${date}`, { align: 'center', width })
  doc.moveDown(2)
  doc.fontSize(10).text(`Verify this certificate at ${opts.url}`, { align: 'center', width, link: opts.url })
  if (!name.exact || !title.exact) {
    doc.moveDown(0.5)
    doc.text('Names are printed in Latin letters here; the verification page shows them as issued.', {
      align: 'center',
      width,
    })
  }
  doc.end()
  return done
}
