/** A lesson with the quiz of CONTRACT §12: q1 single choice (q1c2 right), q2 multiple (q2c1 and q2c2 right). */
export const QUIZ_LESSON = [
  'Status codes tell the client what happened.',
  '',
  '```quiz',
  '? What does status 429 mean?',
  '- [ ] Forbidden',
  '- [x] Too many requests',
  '? Which formats are accepted as avatars?',
  '- [x] PNG',
  '- [x] JPEG',
  '- [ ] BMP',
  '```',
  '',
  'Read on.',
].join('\n')
