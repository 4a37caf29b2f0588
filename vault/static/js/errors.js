// The errors the page raises itself (the API's refusals are ApiFailure, in api.js). No imports,
// so any module can throw them without pulling in the rest; feedback.js words them for people.

/** A message for the person at the keyboard, translated, saying what to do: shown as it is. */
export class UserError extends Error {
  constructor(message) {
    super(message);
    this.name = "UserError";
  }
}

/** A key or signature that cannot be trusted; `changed` names whose pinned keys changed, if that is why. */
export class TrustError extends Error {
  constructor(message) {
    super(message);
    this.name = "TrustError";
    this.code = "TrustError";
  }
}
