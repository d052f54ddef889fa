import { createHash } from 'node:crypto'
import type { ImageProcessor, ProcessedImage } from '../../images/index.ts'
import type { Clock } from '../../lib/clock.ts'
import type { MediaRepository } from './media.repository.ts'
import { MEDIA_MAX_EDGE_PX, mediaUrl, type StoredMediaType } from './media-url.ts'

/** The one file part a media upload carries (CONTRACT §12). */
export const MEDIA_FIELD = 'file'

export interface StoredMedia {
  url: string
  sha256: string
  image: ProcessedImage
}

function storedType(image: ProcessedImage): StoredMediaType {
  // The processor re-encodes to JPEG or PNG only (a GIF becomes a PNG of its first frame).
  if (image.contentType === 'image/jpeg' || image.contentType === 'image/png') return image.contentType
  throw new Error(`the image processor produced ${image.contentType}, which media do not store`)
}

/**
 * Validates and re-encodes a lesson image (at most MEDIA_MAX_EDGE_PX on the longer edge); throws
 * ImageRejectedError for a refused image. Stores nothing: the importer stores inside its transaction.
 */
export async function prepareMedia(processor: ImageProcessor, upload: Buffer) {
  const image = await processor.process(upload, { maxEdgePx: MEDIA_MAX_EDGE_PX })
  const contentType = storedType(image)
  const sha256 = createHash('sha256').update(image.data).digest('hex')
  return { image, contentType, sha256 }
}

/**
 * Lesson images: validated and re-encoded by the avatars' processor (src/images: format by bytes,
 * header dimensions, frame bombs; at most 1600 px on the longer edge, metadata gone), then kept
 * in the database named by the SHA-256 of the re-encoded bytes. Never a byte of the upload is kept.
 */
export function createMediaService(deps: { repository: MediaRepository; processor: ImageProcessor; clock: Clock }) {
  const { repository, processor, clock } = deps

  const prepare = (upload: Buffer) => prepareMedia(processor, upload)

  return {
    /** Validates, re-encodes and stores an image; its URL. The same image twice is one stored copy. */
    async store(upload: Buffer, userId: number | null): Promise<StoredMedia> {
      const { image, contentType, sha256 } = await prepare(upload)
      await repository.store({
        sha256,
        content_type: contentType,
        data: image.data,
        width: image.width,
        height: image.height,
        created_by: userId,
        created_at: clock.now(),
      })
      return { url: mediaUrl(sha256, contentType), sha256, image }
    },

    forServing: (sha256: string) => repository.findForServing(sha256),
  }
}

export type MediaService = ReturnType<typeof createMediaService>
