import QRCode from 'qrcode'

/** What the qrcode package draws: one <svg> of <path>s with presentation attributes, nothing else. */
const SVG_SHAPE = /^<svg [^<>]*>(<path [^<>]*\/>)+<\/svg>$/
const SAFE_CHARACTERS = /^[A-Za-z0-9 <>/="#.:,\-\n]*$/

/**
 * The otpauth:// link as a QR code in SVG markup, to embed in the page as is: no image request, no
 * script, and no style attribute (fill and stroke are presentation attributes, which the strict
 * CSP allows). The markup is checked against the shape the package draws before it is trusted
 * as HTML; the link itself appears in it only as drawn modules, never as text.
 */
export async function qrCodeSvg(text: string): Promise<{ sanitizedHtml: string }> {
  const svg = (await QRCode.toString(text, { type: 'svg', margin: 2, errorCorrectionLevel: 'M' })).trim()
  if (!SVG_SHAPE.test(svg) || !SAFE_CHARACTERS.test(svg)) throw new Error('qrcode: unexpected SVG markup')
  return { sanitizedHtml: svg.replace('<svg ', '<svg role="img" aria-labelledby="two-factor-qr-label" ') }
}
