// The errors the page raises itself (the API's refusals are ApiFailure, in api.js). No imports,
// so any module can throw them without pulling in the rest; feedback.js words them for people.

/** A message for the person at the keyboard, translated, saying what to do: shown as it is. */
export class UserError extends Error {
  constructor(message) {
    super(message);
    this.name = "UserError";
  }
}

/** A key, signature or history that cannot be trusted; `translated`: the message says what failed, in the page's language. */
export class TrustError extends Error {
  constructor(message, { translated = false } = {}) {
    super(message);
    this.name = "TrustError";
    this.code = "TrustError";
    this.translated = translated;
  }
}
