// The per-file progress row (bar, state, pause/resume), and the case page's list of
// unfinished uploads with "resume" (pick the same file again) and "cancel".
import { api } from "./api.js";
import { me } from "./context.js";
import { el } from "./dom.js";
import { errorText, showError } from "./feedback.js";
import { fmtBytes, fmtDate, t } from "./i18n.js";
import { userKeys } from "./keys.js";
import { cancelUpload, Upload, uploadsHeldElsewhere } from "./upload-core.js";
import { dropJournal, journalsOf, openJournal } from "./uploadjournal.js";

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

/**
 * Fill `list` (a <ul>) with the user's unfinished uploads to the case, as the server lists them,
 * and show `section` when there are any. The journal in this browser (opened with the user's key)
 * names the file; without one (another browser, the CLI) the upload can only be cancelled here.
 * `onUploaded()` runs after a resumed upload finished.
 */
export async function showUnfinished(section, list, caseId, onUploaded) {
  const { uploads } = await api("GET", `/cases/${caseId}/uploads`);
  const keys = await userKeys();
  const records = await journalsOf(me.id, caseId).catch(() => []);
  const journals = new Map();
  for (const rec of records) {
    const j = openJournal(keys, rec);
    if (j) journals.set(rec.upload_id, j);
  }
  const listed = new Set(uploads.map((u) => u.upload_id));
  for (const id of journals.keys()) if (!listed.has(id)) dropJournal(id).catch(() => {}); // finished or gone
  const held = await uploadsHeldElsewhere().catch(() => new Set());
  const rerun = () => showUnfinished(section, list, caseId, onUploaded).catch(showError);
  list.replaceChildren(...uploads.map((u) => unfinishedRow(u, journals.get(u.upload_id), held.has(u.upload_id), rerun, onUploaded)));
  section.hidden = !uploads.length;
}

function unfinishedRow(u, journal, heldElsewhere, rerun, onUploaded) {
  const title = (u.metadata && u.metadata.title) || u.item_id;
  const sent = t("{sent} of {total} sent · started {date}", {
    sent: fmtBytes(u.received), total: fmtBytes(u.size), date: fmtDate(u.created_at) });
  const li = el("li", { class: "upload unfinished", "data-upload-id": u.upload_id },
    el("div", { class: "name", text: journal ? `${title} — ${journal.file.name}` : title }),
    el("progress", { max: "100", value: String(Math.floor((u.received / u.size) * 100)), "aria-label": t("Progress of {name}", { name: title }) }),
    el("div", { class: "meta", text: sent }));
  const actions = el("div", { class: "actions" });
  const cancel = el("button", { type: "button", class: "secondary small cancel-upload" }, t("Cancel upload"));
  cancel.addEventListener("click", async () => {
    cancel.disabled = true;
    try {
      await cancelUpload(u.upload_id);
      await rerun();
    } catch (err) {
      cancel.disabled = false;
      showError(err);
    }
  });
  if (heldElsewhere) {
    actions.append(el("p", { class: "hint", text: t("Being sent from another tab or window of this browser.") }));
  } else if (journal) {
    const id = `resume-${u.upload_id}`;
    const input = el("input", { type: "file", id, class: "visually-file resume-file" });
    actions.append(el("p", { class: "hint", text: t("To resume, choose the same file again ({name}, {size}).",
      { name: journal.file.name, size: fmtBytes(journal.file.size) }) }),
    input, el("label", { for: id, class: "button small" }, t("Resume…")), " ");
    input.addEventListener("change", async () => {
      const file = input.files[0];
      if (!file) return;
      const up = Upload.fromJournal(journal, file);
      const row = uploadRow(up, journal.file.name);
      li.replaceWith(row.li);
      try {
        const out = await up.run();
        row.done(out.item_id);
        onUploaded();
      } catch (err) {
        row.failed(err);
        showError(err);
        await rerun();
        row.li.remove();
      }
    });
  } else {
    actions.append(el("p", { class: "hint", text: t("Started in another browser or with the command line: resume it there, or cancel it here.") }));
  }
  actions.append(cancel);
  li.append(actions);
  return li;
}
