// What an item's capture statement (capture.js) says, checked, for the item page: when the
// device's clock says it was captured, where if recorded, and that the statement was signed by
// the uploader for exactly this file. As vault/domain/capture.py verify_capture.
import * as vc from "./crypto.js";
import { fmtDate, t } from "./i18n.js";
import { openStatement } from "./trust.js";

/**
 * Rows [label, text] for the item page, or a TrustFailure / Error when the statement does not
 * belong to this item: a statement copied from another capture, or signed by someone else.
 */
export function captureRows(statement, manifest, item) {
  const { body, signer } = openStatement(statement, "capture");
  const signerB64 = vc.toBase64(signer);
  const same = signerB64 === item.uploader.sign_public && body.sha256 === manifest.sha256 && body.size === manifest.size
    && body.case_id === item.case_id && body.user_id === item.uploader.id && body.media_type === manifest.media_type;
  if (!same) throw new Error("the capture statement is not about this file");
  const checked = t("signed on the device at capture; matches this file");
  const rows = [[t("Captured (device clock)"), `${fmtDate(body.device_time)} — ${checked}`]];
  const loc = body.location;
  if (loc) rows.push([t("Location at capture"), `${loc.lat}, ${loc.lon} (± ${loc.accuracy_m} m)`]);
  return rows;
}
