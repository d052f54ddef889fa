import { createHash } from 'node:crypto'
import type { Config } from '../../config/index.ts'
import { DEFAULT_IMAGE_LIMITS, type ImageLimits, type ImageProcessor, type ProcessedImage } from '../../images/index.ts'
import type { Clock } from '../../lib/clock.ts'
import { avatarFileName, avatarUrl, type StoredAvatarType } from './avatar-url.ts'
import type { AvatarsRepository } from './avatars.repository.ts'

/**
 * The image limits of CONTRACT §5: MAX_IMAGE_WIDTH × MAX_IMAGE_HEIGHT (inclusive) from the
 * configuration; 1,000 frames and frames × pixels ≤ 2^26 are fixed by the contract.
 */

/** The one file part an avatar upload carries (CONTRACT §5). */
export const AVATAR_FIELD = 'avatar'

export function avatarImageLimits(config: Pick<Config, 'maxImageWidth' | 'maxImageHeight'>): ImageLimits {
  return {
    maxWidth: config.maxImageWidth,
    maxHeight: config.maxImageHeight,
    maxFrames: DEFAULT_IMAGE_LIMITS.maxFrames,
    maxTotalPixels: DEFAULT_IMAGE_LIMITS.maxTotalPixels,
  }
}

export interface AvatarsServiceDeps {
  repository: AvatarsRepository
  processor: ImageProcessor
  clock: Clock
}

export interface StoredAvatar {
  url: string
  image: ProcessedImage
}

function storedType(image: ProcessedImage): StoredAvatarType {
  // The processor re-encodes to JPEG or PNG only (a GIF becomes a PNG of its first frame).
  if (image.contentType === 'image/jpeg' || image.contentType === 'image/png') return image.contentType
  throw new Error(`the image processor produced ${image.contentType}, which avatars do not store`)
}

export function createAvatarsService(deps: AvatarsServiceDeps) {
  const { repository, processor, clock } = deps
  return {
    /**
     * Validates and re-encodes the upload, then makes the result the user's avatar. Throws
     * ImageRejectedError for a refused image, before anything is written: the previous
     * avatar stays. Only the re-encoded bytes are stored, never a byte of the upload.
     */
    async replace(userId: number, upload: Buffer): Promise<StoredAvatar> {
      const image = await processor.process(upload)
      const contentType = storedType(image)
      const sha256 = createHash('sha256').update(image.data).digest('hex')
      const fileName = avatarFileName(sha256, contentType)
      await repository.replace({
        user_id: userId,
        content_type: contentType,
        data: image.data,
        sha256,
        file_name: fileName,
        width: image.width,
        height: image.height,
        updated_at: clock.now(),
      })
      return { url: avatarUrl(userId, fileName), image }
    },

    /** The user's current avatar, to serve. */
    forServing: (userId: number) => repository.findForServing(userId),

    /** Whether the user's avatar was ever stored under this name (an earlier avatar's URL). */
    wasStoredAs: (userId: number, fileName: string) => repository.wasStoredAs(userId, fileName),
  }
}

export type AvatarsService = ReturnType<typeof createAvatarsService>
