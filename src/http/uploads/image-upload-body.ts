/**
 * How an image upload's multipart body is described in GET /api/openapi.json: the file under
 * `field`, and the CSRF token for forms that send it as a field. read-upload.ts reads the body
 * itself (no body schema validates it), so this is documentation, shared by every image route.
 */
export function imageUploadBody(field: string) {
  return {
    contentType: 'multipart/form-data',
    schema: {
      type: 'object',
      required: [field],
      properties: {
        [field]: { type: 'string', contentMediaType: 'image/*', description: 'PNG, JPEG or GIF' },
        csrf_token: { type: 'string', description: 'the CSRF token, when not sent as a header' },
      },
    },
  }
}
