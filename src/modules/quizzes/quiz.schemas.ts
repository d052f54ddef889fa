import { MAX_CHOICES, MAX_QUESTIONS } from './quiz-parser.ts'

const id = { type: 'string', maxLength: 32 } as const

/** `{"answers": {"q1": ["q1c2"], …}}`; question and choice ids are checked against the quiz by the service. */
export const quizAnswersBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['answers'],
  properties: {
    answers: {
      type: 'object',
      maxProperties: MAX_QUESTIONS,
      propertyNames: id,
      additionalProperties: { type: 'array', maxItems: MAX_CHOICES, items: id },
    },
  },
} as const
export interface QuizAnswersBody {
  answers: Record<string, string[]>
}

const correctMap = { type: 'object', additionalProperties: { type: 'boolean' } } as const

export const quizResultResponseSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['score', 'total', 'percent', 'passed', 'correct'],
  properties: {
    score: { type: 'integer' },
    total: { type: 'integer' },
    percent: { type: 'number' },
    passed: { type: 'boolean' },
    correct: correctMap,
  },
} as const

export const quizAttemptsResponseSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['attempts'],
  properties: {
    attempts: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['score', 'total', 'percent', 'passed', 'correct', 'answers', 'created_at'],
        properties: {
          score: { type: 'integer' },
          total: { type: 'integer' },
          percent: { type: 'number' },
          passed: { type: 'boolean' },
          correct: correctMap,
          answers: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } },
          created_at: { type: 'string' },
        },
      },
    },
  },
} as const

/** A lesson's `quiz`: questions and choices, never which are right (the serializer drops anything else). */
export const publicQuizSchema = {
  anyOf: [
    { type: 'null' },
    {
      type: 'object',
      additionalProperties: false,
      required: ['questions', 'pass_percent'],
      properties: {
        questions: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['id', 'text', 'multiple', 'choices'],
            properties: {
              id: { type: 'string' },
              text: { type: 'string' },
              multiple: { type: 'boolean' },
              choices: {
                type: 'array',
                items: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['id', 'text'],
                  properties: { id: { type: 'string' }, text: { type: 'string' } },
                },
              },
            },
          },
        },
        pass_percent: { type: 'integer' },
      },
    },
  ],
} as const
