// The signed-in session as this tab keeps it: where the user's wrapped private keys sit
// (sessionStorage, so they die with the tab), forgetting them, and ending the session.
// Kept apart from keys.js so that the API client can end an expired session without
// depending on the key handling that itself calls the API.

/** The sessionStorage item holding the private keys, encrypted under the session's wrapping key. */
export const KEYS_ITEM = "vault.wrapped-keys";

export function forgetSessionKeys() {
  sessionStorage.removeItem(KEYS_ITEM);
}

export function endSession(reason = "") {
  forgetSessionKeys();
  const form = document.querySelector("#logout-form");
  if (form) {
    form.querySelector('input[name="reason"]').value = reason;
    form.submit(); // a navigation: the whole page memory (keys, heap) is discarded
  } else {
    location.assign("/login");
  }
}
