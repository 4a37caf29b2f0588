// The per-file progress row: bar, state, pause/resume.
import { el } from "./dom.js";
import { errorText } from "./feedback.js";
import { fmtBytes, t } from "./i18n.js";

export function uploadRow(upload, name) {
  const bar = el("progress", { max: "100", value: "0", "aria-label": t("Progress of {name}", { name }) });
  const state = el("span", { class: "state", text: t("Waiting…") });
  const pct = el("span", { class: "pct", text: "" });
  const pause = el("button", { type: "button", class: "secondary small pause" }, t("Pause"));
  const li = el("li", { class: "upload" }, el("div", { class: "name", text: name }), bar,
    el("div", {}, state, " ", pct, " ", pause));
  pause.addEventListener("click", () => {
    if (upload.paused) {
      upload.resume();
      pause.textContent = t("Pause");
    } else {
      upload.pause();
      pause.textContent = t("Resume");
    }
  });
  upload.onProgress = (sent, total) => {
    bar.value = total ? Math.floor((sent / total) * 100) : 100;
    pct.textContent = `${fmtBytes(sent)} / ${fmtBytes(total)}`;
  };
  upload.onState = (text) => (state.textContent = text);
  return {
    li,
    done(itemId) {
      li.classList.add("done");
      li.dataset.itemId = itemId;
      state.textContent = t("Uploaded and verified by the server.");
      bar.value = 100;
      pause.remove();
    },
    failed(err) {
      li.classList.add("failed");
      state.textContent = errorText(err);
      pause.remove();
    },
  };
}
