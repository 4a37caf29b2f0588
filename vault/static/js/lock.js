// Locking the page: the lock button forgets the keys and reloads (the password is asked again),
// and after the organisation's idle time (body data-lock-minutes, the server's web_idle_s) the
// session ends by itself. The server ends an idle web session after the same time, so activity
// that makes no request (reading, scrolling) is reported to it, at most once a tenth of the
// lock time (and once a minute): a laptop put to sleep holds no live session past it.
import { touchSession } from "./api.js";
import { endSession, forgetSessionKeys } from "./session.js";

export function lockNow() {
  forgetSessionKeys();
  location.reload(); // memory wiped; the reloaded page asks for the password
}

export function startInactivityLock() {
  const minutes = Number(document.body.dataset.lockMinutes || "10");
  const lockMs = minutes * 60 * 1000;
  const touchEveryMs = Math.min(60 * 1000, lockMs / 10);
  let timer = null;
  let touched = Date.now(); // the page's own load was a request
  const reset = () => {
    clearTimeout(timer);
    timer = setTimeout(() => endSession("locked"), lockMs);
    if (Date.now() - touched > touchEveryMs) {
      touched = Date.now();
      touchSession();
    }
  };
  for (const ev of ["pointerdown", "keydown", "scroll", "touchstart"]) addEventListener(ev, reset, { passive: true });
  reset();
}
