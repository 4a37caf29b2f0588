// The admin page's audit log in words: each action translated, people by name (from the admin's
// list of accounts), cases by their reference (from the log's own case_created entries). Never a
// raw id on screen: what the page cannot name it calls by kind ("an account", "evidence item").
import { roleName, t } from "./i18n.js";

// Every action the server writes (grep `audit(` in vault/); an unknown one is shown as it is.
const ACTIONS = {
  server_initialised: () => t("Vault set up"),
  fsck: () => t("Storage check (fsck)"),
  login: () => t("Signed in"),
  login_failed: () => t("Failed sign-in"),
  logout: () => t("Signed out"),
  account_registered: () => t("Account registered"),
  account_rekeyed: () => t("Account re-keyed after a lost password"),
  password_changed: () => t("Password changed"),
  password_change_failed: () => t("Password change refused (wrong password)"),
  totp_enabled: () => t("Second factor turned on"),
  totp_disabled: () => t("Second factor turned off"),
  totp_change_failed: () => t("Second factor change refused"),
  user_disabled: () => t("Account disabled"),
  user_enabled: () => t("Account enabled"),
  user_certified: () => t("Keys certified"),
  org_root_set: () => t("Organisation root set"),
  invitation_created: () => t("Invitation created"),
  invitation_revoked: () => t("Invitation revoked"),
  plugin_enabled: () => t("Plugin turned on"),
  plugin_disabled: () => t("Plugin turned off"),
  case_created: () => t("Case opened"),
  case_chain_adopted: () => t("Case membership chain adopted"),
  member_added: () => t("Member added to a case"),
  member_removed: () => t("Member removed from a case"),
  evidence_uploaded: () => t("Evidence uploaded"),
  evidence_viewed: () => t("Evidence viewed"),
  evidence_downloaded: () => t("Evidence downloaded"),
  export_validated: () => t("Export checked"),
  export_rendered: () => t("Export documents made"),
  case_exported: () => t("Case exported"),
  recovery_material_read: () => t("Recovery material read"),
  recovery_granted: () => t("Case keys granted again after recovery"),
};

export function actionName(action) {
  const f = ACTIONS[action];
  return f ? f() : String(action).replace(/_/g, " ");
}

function person(id, names) {
  if (id === "unknown") return t("an unknown user name");
  return names.get(id) || t("an account");
}

function actorName(actor) {
  if (actor === "server") return t("the server");
  if (actor === "server-cli") return t("the server (command line)");
  if (String(actor).startsWith("unknown:")) return t("an unknown user name");
  return actor;
}

/** What the object of an entry is, in words: "user:<id>" → the user's name, "case:<id>" → its reference. */
export function objectName(object, details, { names, cases }) {
  const [kind, ...rest] = String(object || "").split(":");
  const id = rest.join(":");
  switch (kind) {
    case "": return "—";
    case "user": return person(id, names);
    case "case": return cases.get(id) ? t("case {reference}", { reference: cases.get(id) }) : t("a case");
    case "item": return details.case && cases.get(details.case)
      ? t("evidence item in case {reference}", { reference: cases.get(details.case) }) : t("an evidence item");
    case "invitation": return details.role ? t("invitation ({role})", { role: roleName(details.role) }) : t("an invitation");
    case "plugin": return t("plugin {name}", { name: id });
    default: return kind;
  }
}

/** The words of one entry's actor, action and object columns. */
export function auditRow(entry, details, known) {
  let object = objectName(entry.object, details, known);
  if (entry.action === "member_added" || entry.action === "member_removed") {
    if (details.user) object = `${person(details.user, known.names)} · ${object}`;
  }
  return { actor: actorName(entry.actor), action: actionName(entry.action), object };
}
