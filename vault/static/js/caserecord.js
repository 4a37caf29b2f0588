// The case's structured record: the latest item of evidence type "case_record", sealed like any
// evidence (as vault/client/export.py _case_record and `vault upload --type case_record`).
import { UserError } from "./errors.js";
import { decryptContent, fetchVerified } from "./evidence.js";
import { t } from "./i18n.js";

export const RECORD_TYPE = "case_record";
export const RECORD_MEDIA_TYPE = "application/vnd.vault.case-record+json";

/** The latest case record item among a case's items, or null. Each save is a new item naming the
 * record it replaces (metadata.supersedes): the latest is the newest record no other one replaces,
 * by upload time then id — as the server's search index (vault/services/indexing.py latest_records)
 * and the Python client (vault/client/export.py latest_record) decide. */
export function latestRecordItem(items) {
  const records = items.filter((it) => it.evidence_type === RECORD_TYPE);
  const replaced = new Set(records.map((it) => (it.metadata || {}).supersedes).filter(Boolean));
  const current = records.filter((it) => !replaced.has(it.id));
  let latest = null;
  for (const it of current.length ? current : records) {
    if (!latest || it.created_at > latest.created_at || (it.created_at === latest.created_at && it.id > latest.id)) latest = it;
  }
  return latest;
}

/** Decrypt and verify the latest record: {item, manifest, record} or null when the case has none. */
export async function loadRecord(items) {
  const latest = latestRecordItem(items);
  if (!latest) return null;
  const { item, manifest, itemKey } = await fetchVerified(latest.id);
  const blob = await decryptContent(item, manifest, itemKey);
  let record;
  try {
    record = JSON.parse(await blob.text());
  } catch {
    record = null;
  }
  if (record === null || typeof record !== "object" || Array.isArray(record)) {
    throw new UserError(t("The latest case record of this case cannot be read. Save the case record again on its page."));
  }
  return { item, manifest, record };
}
