// Content for the documents the soak writes: text of a given length from the soak's seeded generator.

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789 '

/** `length` characters picked by `random`. */
export function randomText (random, length) {
  let text = ''
  for (let i = 0; i < length; i++) text += ALPHABET[Math.floor(random() * ALPHABET.length)]
  return text
}
