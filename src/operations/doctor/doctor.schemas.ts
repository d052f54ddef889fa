/** CONTRACT §16: the JSON of `bin/lectern doctor --json`, which GET /api/admin/doctor answers too. */
export const doctorReportSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['findings', 'summary'],
  properties: {
    findings: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['check', 'level', 'message', 'fix'],
        properties: {
          check: { type: 'string' },
          level: { type: 'string', enum: ['OK', 'WARN', 'FAIL'] },
          message: { type: 'string' },
          fix: { type: ['string', 'null'], description: 'how to fix it; null for OK' },
        },
      },
    },
    summary: {
      type: 'object',
      additionalProperties: false,
      required: ['ok', 'warn', 'fail'],
      properties: { ok: { type: 'integer' }, warn: { type: 'integer' }, fail: { type: 'integer' } },
    },
  },
} as const
