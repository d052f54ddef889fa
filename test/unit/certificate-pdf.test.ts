import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { drawableText, renderCertificatePdf } from '../../src/modules/certificates/certificate-pdf.ts'

describe('certificate PDF text (PDF standard fonts draw Windows-1252 only)', () => {
  test('Latin-1 names are drawn as they are', () => {
    for (const name of ['Ada Lovelace', 'Zoë Ångström', 'François Œuvre', 'José Núñez']) {
      assert.deepEqual(drawableText(name, 'fallback'), { text: name, exact: true })
    }
  })

  test('accents outside Latin-1 are folded away when that leaves the name readable', () => {
    assert.deepEqual(drawableText('Łukasz Dvořák', 'fallback'), { text: 'Lukasz Dvorak', exact: false })
    assert.deepEqual(drawableText('Nguyễn Văn An', 'fallback'), { text: 'Nguyen Van An', exact: false })
  })

  test('a name in another script is replaced by the fallback (the username), not by question marks', () => {
    assert.deepEqual(drawableText('Дмитрий Шостакович', 'dmitri'), { text: 'dmitri', exact: false })
    assert.deepEqual(drawableText('李小龍', 'bruce'), { text: 'bruce', exact: false })
  })

  test('the document is a PDF whatever the name', async () => {
    for (const learner_name of ['Grace Hopper', 'Дмитрий', '李小龍 🐉']) {
      const bytes = await renderCertificatePdf(
        {
          id: 'A'.repeat(24),
          user_id: 1,
          course_id: 1,
          learner_name,
          course_slug: 'web',
          course_title: 'Web fundamentals',
          issued_at: Date.UTC(2026, 0, 15),
        },
        { url: 'https://learn.example.org/certificates/AAAA', username: 'someone' },
      )
      assert.equal(bytes.subarray(0, 5).toString('latin1'), '%PDF-')
      assert.ok(bytes.subarray(-6).toString('latin1').includes('%%EOF'))
    }
  })

  test('one page whatever the lengths: the longest name (64) and title (200), even unbroken, are set smaller', async () => {
    const pages = (bytes: Buffer) => bytes.toString('latin1').match(/\/Type \/Page\b/g)?.length ?? 0
    for (const [learner_name, course_title] of [
      ['W'.repeat(64), 'W'.repeat(200)],
      ['Ada', 'W'.repeat(200)],
      ['W'.repeat(64), 'Web'],
      [Array.from({ length: 13 }, () => 'Wilma').join(' '), Array.from({ length: 34 }, () => 'Mmmmm').join(' ')],
    ]) {
      const bytes = await renderCertificatePdf(
        {
          id: 'A'.repeat(24),
          user_id: 1,
          course_id: 1,
          learner_name: learner_name!,
          course_slug: 'web',
          course_title: course_title!,
          issued_at: Date.UTC(2026, 0, 15),
        },
        { url: `https://learn.example.org/certificates/${'A'.repeat(24)}`, username: 'someone' },
      )
      assert.equal(pages(bytes), 1, `${learner_name!.length} + ${course_title!.length} characters`)
    }
  })
})
