import { DeclaredSize } from './declared-size.ts'
import type { ImageHeaderInfo, ImageLimits } from './types.ts'

/**
 * More progressive scans than any encoder writes (a typical progressive JPEG has about ten,
 * unusual scan scripts a few dozen). Every scan makes the decoder revisit the whole image, so
 * thousands of tiny scans turn a small file into a CPU bomb; libjpeg-turbo's own tools offer
 * a scan limit for the same reason.
 */
export const MAX_JPEG_SCANS = 100

const MARKER_SOS = 0xda
const MARKER_EOI = 0xd9
const MARKER_SOI = 0xd8
const MARKER_TEM = 0x01

/** SOF0–SOF15 except DHT (C4), JPG (C8) and DAC (CC), which share the range. */
function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc
}

function isRestart(marker: number): boolean {
  return marker >= 0xd0 && marker <= 0xd7
}

/**
 * Marker segments the JPEG standard defines with a length field. The reserved markers
 * 0x02–0xBF are refused by libjpeg, so they are refused here without decoding.
 */
function hasLengthField(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xfe && marker !== MARKER_SOI && marker !== MARKER_EOI && !isRestart(marker)
}

/**
 * Walks the marker segments by their lengths and skips entropy-coded data with a native
 * byte search for 0xFF, so the cost is one pass over the file with nothing allocated.
 * Every SOF's dimensions are checked; a scan before any frame, a file that ends before EOI
 * and a segment running past the end are refused as invalid before the decoder sees them.
 */
export function inspectJpeg(bytes: Buffer, limits: ImageLimits): ImageHeaderInfo {
  const size = new DeclaredSize('jpeg', limits)
  let position = 2 // after SOI
  let sawFrame = false
  let scans = 0

  for (;;) {
    // Between segments only a marker may stand. libjpeg skips stray bytes with a warning, and
    // so does this walk: the decoder has the final say on whether such a file is acceptable.
    const markerStart = bytes.indexOf(0xff, position)
    if (markerStart === -1) throw size.invalid('file ends before EOI')
    let markerAt = markerStart + 1
    while (bytes[markerAt] === 0xff) markerAt++ // fill bytes before a marker
    if (markerAt >= bytes.length) throw size.invalid('file ends before EOI')
    const marker = bytes[markerAt]!
    position = markerAt + 1

    if (marker === MARKER_EOI) break
    // 0xFF 0x00 outside a scan is a stuffed byte out of place: libjpeg discards it with a warning.
    if (marker === 0x00) continue
    if (marker === MARKER_SOI) throw size.invalid('second SOI marker')
    if (marker === MARKER_TEM || isRestart(marker)) continue
    if (!hasLengthField(marker)) throw size.invalid(`undefined marker 0xFF${marker.toString(16).padStart(2, '0')}`)

    if (position + 2 > bytes.length) throw size.invalid('file ends inside a marker segment')
    const length = bytes.readUInt16BE(position)
    const segmentEnd = position + length

    if (isStartOfFrame(marker)) {
      if (position + 7 > bytes.length) throw size.invalid('file ends inside SOF')
      const height = bytes.readUInt16BE(position + 3)
      const width = bytes.readUInt16BE(position + 5)
      // Dimensions first: a file declaring a bomb is refused as one, whatever else is wrong with it.
      size.declareImage(width, height)
      // Height 0 means "given later by a DNL marker", which libjpeg does not support.
      if (width === 0 || height === 0) throw size.invalid(`SOF declares ${width}×${height}`)
      sawFrame = true
    }
    if (length < 2) throw size.invalid(`marker segment length ${length} is below 2`)
    if (segmentEnd > bytes.length) throw size.invalid(`marker segment of ${length} bytes runs past the end of the file`)
    position = segmentEnd

    if (marker === MARKER_SOS) {
      if (!sawFrame) throw size.invalid('scan before any SOF')
      scans += 1
      if (scans > MAX_JPEG_SCANS) throw size.invalid(`more than ${MAX_JPEG_SCANS} scans`)
      position = skipEntropyCodedData(bytes, position)
      if (position === -1) throw size.invalid('file ends inside scan data')
    }
  }

  if (!sawFrame) throw size.invalid('no SOF marker')
  if (scans === 0) throw size.invalid('no scan data')
  return size.result()
}

/**
 * Returns the offset of the marker that ends the scan, or -1 if the file ends first.
 * Inside scan data 0xFF is followed by 0x00 (a stuffed byte) or RST0–7; anything else is a marker.
 */
function skipEntropyCodedData(bytes: Buffer, start: number): number {
  let position = start
  for (;;) {
    const candidate = bytes.indexOf(0xff, position)
    if (candidate === -1 || candidate + 1 >= bytes.length) return -1
    const next = bytes[candidate + 1]!
    if (next === 0x00 || isRestart(next) || next === 0xff) {
      // A stuffed byte or a restart: keep going. For 0xFF 0xFF, the second may start the marker.
      position = next === 0xff ? candidate + 1 : candidate + 2
      continue
    }
    return candidate
  }
}
