/**
 * A strict well-formedness check of markup written in XML syntax (the HTML report is written
 * that way: every element closed, void ones as `<meta ... />`, every attribute quoted): tags
 * nest and close in order, attributes are `name="value"` once each, `&` starts a known entity
 * and `<` starts a tag. Returns the problems found, none for a well-formed text.
 */
const NAME = /^[A-Za-z][A-Za-z0-9:-]*$/
const ENTITY = /^&(?:amp|lt|gt|quot|#39|#\d+|#x[0-9a-fA-F]+);/
const VOID_HTML = new Set(['meta', 'br', 'hr', 'img', 'input', 'link'])

export function wellFormednessProblems(markup: string): string[] {
  const problems: string[] = []
  const open: string[] = []
  let i = 0
  const text = markup.replace(/^\s*<!DOCTYPE html>\s*/i, '')
  while (i < text.length) {
    const c = text[i]
    if (c === '&') {
      if (!ENTITY.test(text.slice(i, i + 12))) problems.push(`a bare & at ${i}: ${text.slice(i, i + 20)}`)
      i++
      continue
    }
    if (c !== '<') {
      i++
      continue
    }
    if (text.startsWith('<!--', i)) {
      const end = text.indexOf('-->', i)
      if (end === -1) return [...problems, 'an unterminated comment']
      i = end + 3
      continue
    }
    const end = tagEnd(text, i)
    if (end === -1) return [...problems, `an unterminated tag at ${i}: ${text.slice(i, i + 30)}`]
    const tag = text.slice(i + 1, end)
    i = end + 1
    if (tag.startsWith('/')) {
      const name = tag.slice(1).trim()
      const expected = open.pop()
      if (name !== expected) problems.push(`</${name}> closes <${expected ?? 'nothing'}>`)
      continue
    }
    const selfClosing = tag.endsWith('/')
    const body = selfClosing ? tag.slice(0, -1) : tag
    const name = /^\S+/.exec(body)?.[0] ?? ''
    if (!NAME.test(name)) {
      problems.push(`a bad tag name "${name}"`)
      continue
    }
    problems.push(...attributeProblems(name, body.slice(name.length)))
    if (!selfClosing) {
      if (VOID_HTML.has(name)) problems.push(`<${name}> must be written <${name} ... />`)
      if (name === 'style' || name === 'script') {
        const close = text.indexOf(`</${name}>`, i)
        if (close === -1) return [...problems, `<${name}> never closed`]
        if (text.slice(i, close).includes('<')) problems.push(`a "<" inside <${name}>`)
        i = close + name.length + 3
        continue
      }
      open.push(name)
    }
  }
  if (open.length > 0) problems.push(`never closed: ${open.join(', ')}`)
  return problems
}

function tagEnd(text: string, start: number): number {
  let quote: string | null = null
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i]
    if (quote !== null) {
      if (c === quote) quote = null
      else if (c === '<') return -1
    } else if (c === '"' || c === "'") quote = c
    else if (c === '<') return -1
    else if (c === '>') return i
  }
  return -1
}

function attributeProblems(tag: string, attributes: string): string[] {
  const problems: string[] = []
  const seen = new Set<string>()
  const pattern = /\s+([A-Za-z_:][A-Za-z0-9_:.-]*)="([^"]*)"/y
  const rest = attributes.trimEnd()
  let offset = 0
  while (offset < rest.length) {
    pattern.lastIndex = offset
    const m = pattern.exec(rest)
    if (m === null) {
      problems.push(`<${tag}>: a bad attribute at "${rest.slice(offset, offset + 30)}"`)
      break
    }
    const name = m[1] as string
    if (seen.has(name)) problems.push(`<${tag}>: ${name} twice`)
    seen.add(name)
    const value = m[2] as string
    for (const amp of value.matchAll(/&/g)) {
      if (!ENTITY.test(value.slice(amp.index, amp.index + 12))) problems.push(`<${tag} ${name}>: a bare &`)
    }
    offset = pattern.lastIndex
  }
  return problems
}
