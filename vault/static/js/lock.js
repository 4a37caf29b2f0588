// Locking the page: the lock button forgets the keys and reloads (the password is asked again),
// and after the organisation's idle time (body data-lock-minutes) the session ends by itself.
import { endSession, forgetSessionKeys } from "./session.js";

export function lockNow() {
  forgetSessionKeys();
  location.reload(); // memory wiped; the reloaded page asks for the password
}

export function startInactivityLock() {
  const minutes = Number(document.body.dataset.lockMinutes || "10");
  let timer = null;
  const reset = () => {
    clearTimeout(timer);
    timer = setTimeout(() => endSession("locked"), minutes * 60 * 1000);
  };
  for (const ev of ["pointerdown", "keydown", "scroll", "touchstart"]) addEventListener(ev, reset, { passive: true });
  reset();
}
