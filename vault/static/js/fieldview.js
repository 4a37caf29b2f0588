// The field app's outbox list (issue #15): size and state of every waiting item, shown before
// the keys are open (only the clear record), and what it is, for which case and when once they are.
import { el } from "./dom.js";
import { fmtBytes, fmtDate, t } from "./i18n.js";
import { openHeader } from "./outbox.js";

/** Why an item was not sent, from the error code its record keeps, in words that say what to do. */
export function failureText(code) {
  if (code === "not_found" || code === "forbidden") {
    return t("You are no longer a member of this case, or it is gone. Ask a member to add you again, then try again.");
  }
  if (code === "TrustError" || code === "TrustFailure") return t("The case's keys could not be checked. Tell your admin before you try again.");
  if (code === "too_large") return t("The server does not take items this large. Tell your admin.");
  return t("The vault refused it ({code}). Try again later, or tell your admin.", { code: code || "?" });
}

/** The translated words for an item's state (the clear record's `state`, or the sender's live one). */
export function stateText(state, { online, unlocked, progress, error } = {}) {
  if (state === "sending") return progress ? t("Sending… {pct} %", { pct: progress }) : t("Sending…");
  if (state === "sent") return t("Sent");
  if (state === "failed") return t("Not sent: {reason}", { reason: failureText(error) });
  if (!unlocked) return t("Waiting: open your keys to send");
  return online ? t("Waiting to be sent") : t("Waiting for a connection");
}

/**
 * Draw the list. `records` are the outbox's records; `keys` (or null) opens their headers;
 * `live` maps an id to the sender's latest {state, progress, error}; `actions` {retry, discard}.
 */
export function drawOutbox(list, records, keys, live, { online, onRetry, onDiscard }) {
  const rows = records.map((r) => {
    const now = live.get(r.id) || {};
    const state = now.state || r.state;
    const header = keys ? openHeader(keys, r) : null;
    const what = header
      ? [header.metadata.title, header.case_label, fmtDate(header.device_time)].filter(Boolean).join(" · ")
      : t("Encrypted item");
    const li = el("li", { class: `outbox-item state-${state}`, "data-id": r.id, "data-state": state },
      el("span", { class: "what", text: what }),
      el("span", { class: "size", text: fmtBytes(r.size) }),
      el("span", { class: "state", text: stateText(state, { online, unlocked: !!keys, progress: now.progress, error: now.error || r.error }) }));
    if (state === "failed" && keys) {
      li.append(el("div", { class: "actions" },
        el("button", { type: "button", class: "small secondary", onclick: () => onRetry(r.id), text: t("Try again") }),
        el("button", { type: "button", class: "small danger", onclick: () => onDiscard(r.id), text: t("Discard") })));
    }
    return li;
  });
  list.replaceChildren(...rows);
}
