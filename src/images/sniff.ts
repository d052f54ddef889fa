import type { ImageFormat } from './types.ts'

/**
 * The format an upload really is, judged by its first bytes alone: attackers choose the file
 * name and the declared type, never the magic numbers a decoder will act on.
 */
export interface SniffResult {
  /** JPEG, PNG or GIF; null for anything else. */
  format: ImageFormat | null
  /** A short label for the log: the accepted format, or what the bytes look like instead. */
  detected: string
}

// The whole 8-byte PNG signature: its CR-LF, EOF and LF bytes exist to catch files mangled by
// text transfers, which then are not PNG at all (checking only `\x89PNG` would let them through).
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
const GIF87A = Buffer.from('GIF87a', 'latin1')
const GIF89A = Buffer.from('GIF89a', 'latin1')

/** Binary signatures of formats we refuse, only to name them in the log. */
const OTHER_SIGNATURES: ReadonlyArray<{ label: string; offset: number; bytes: Buffer }> = [
  { label: 'bmp', offset: 0, bytes: Buffer.from('BM', 'latin1') },
  { label: 'tiff', offset: 0, bytes: Buffer.from([0x49, 0x49, 0x2a, 0x00]) },
  { label: 'tiff', offset: 0, bytes: Buffer.from([0x4d, 0x4d, 0x00, 0x2a]) },
  { label: 'bigtiff', offset: 0, bytes: Buffer.from([0x49, 0x49, 0x2b, 0x00]) },
  { label: 'bigtiff', offset: 0, bytes: Buffer.from([0x4d, 0x4d, 0x00, 0x2b]) },
  { label: 'webp', offset: 8, bytes: Buffer.from('WEBP', 'latin1') },
  { label: 'ico', offset: 0, bytes: Buffer.from([0x00, 0x00, 0x01, 0x00]) },
  { label: 'cur', offset: 0, bytes: Buffer.from([0x00, 0x00, 0x02, 0x00]) },
  { label: 'psd', offset: 0, bytes: Buffer.from('8BPS', 'latin1') },
  { label: 'pdf', offset: 0, bytes: Buffer.from('%PDF', 'latin1') },
  { label: 'postscript', offset: 0, bytes: Buffer.from('%!PS', 'latin1') },
  { label: 'jpeg2000', offset: 0, bytes: Buffer.from([0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20]) },
  { label: 'jpeg2000', offset: 0, bytes: Buffer.from([0xff, 0x4f, 0xff, 0x51]) },
  { label: 'jpegxl', offset: 0, bytes: Buffer.from([0xff, 0x0a]) },
  { label: 'jpegxl', offset: 4, bytes: Buffer.from('JXL ', 'latin1') },
  { label: 'bpg', offset: 0, bytes: Buffer.from([0x42, 0x50, 0x47, 0xfb]) },
  { label: 'heif', offset: 4, bytes: Buffer.from('ftyp', 'latin1') },
  { label: 'djvu', offset: 0, bytes: Buffer.from('AT&TFORM', 'latin1') },
  { label: 'zip', offset: 0, bytes: Buffer.from('PK\x03\x04', 'latin1') },
  { label: 'gzip', offset: 0, bytes: Buffer.from([0x1f, 0x8b]) },
]

/** Text formats are recognised case-insensitively within this many leading bytes. */
const TEXT_PREFIX_BYTES = 1024

function startsWith(bytes: Buffer, signature: Buffer, offset = 0): boolean {
  return (
    bytes.length >= offset + signature.length &&
    bytes.compare(signature, 0, signature.length, offset, offset + signature.length) === 0
  )
}

function describeText(bytes: Buffer): string | null {
  const head = bytes
    .subarray(0, TEXT_PREFIX_BYTES)
    .toString('latin1')
    .replace(/^\xEF\xBB\xBF/, '') // a UTF-8 byte order mark, read as latin1
    .trimStart()
    .toLowerCase()
  if (head.includes('<svg')) return 'svg'
  if (head.startsWith('<!doctype html') || /<(html|head|body|script|iframe)[\s>]/.test(head)) return 'html'
  if (head.startsWith('<?php') || head.includes('<?php')) return 'php'
  if (head.startsWith('<?xml')) return 'xml'
  if (head.startsWith('push graphic-context') || head.startsWith('viewbox')) return 'mvg'
  return null
}

export function sniffImage(bytes: Buffer): SniffResult {
  if (bytes.length === 0) return { format: null, detected: 'empty' }
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
    return { format: 'jpeg', detected: 'jpeg' }
  }
  if (startsWith(bytes, PNG_SIGNATURE)) return { format: 'png', detected: 'png' }
  if (startsWith(bytes, GIF89A) || startsWith(bytes, GIF87A)) return { format: 'gif', detected: 'gif' }

  for (const { label, offset, bytes: signature } of OTHER_SIGNATURES) {
    if (startsWith(bytes, signature, offset)) return { format: null, detected: label }
  }
  // `\x89PNG` followed by a damaged remainder: worth naming, since it is a classic transfer accident.
  if (startsWith(bytes, PNG_SIGNATURE.subarray(0, 4))) return { format: null, detected: 'png-damaged-signature' }
  return { format: null, detected: describeText(bytes) ?? 'unknown' }
}
