// ESLint for the browser modules (vault/static/js), run by scripts/lint-js. Mostly boundaries:
//   - crypto.js is the only module that touches libsodium (the vendored libsodium.js), so
//     every byte format has one browser implementation to check against vault/crypto.py;
//   - api.js is the only module that talks to the server (fetch/XHR), and every module takes
//     the API client from it, so CSRF, the error shape and session expiry are handled once.
// Plus ESLint's recommended rules (they catch real mistakes: undefined names, unused code).
import js from "@eslint/js";
import globals from "globals";

const NO_LIBSODIUM = "Only vault/static/js/crypto.js may use libsodium: add what you need to crypto.js.";
const NO_NETWORK = "Talk to the server through vault/static/js/api.js (CSRF token, error shape, session expiry).";

const libsodiumImports = { group: ["*libsodium*", "**/vendor/**"], message: NO_LIBSODIUM };
// The API client has one home: importing these names from anywhere else means a copy or a re-export.
const apiFromApiJs = {
  // crypto.js is exempt only because its namespace import (import * as vc) would otherwise match.
  regex: "^(?!\\.\\.?/(api|crypto)\\.js$)",
  importNames: ["api", "ApiFailure", "fetchCatalog", "startWebSession", "putBytes", "postForm"],
  message: "Import the API client from api.js.",
};
const restrictedImports = (patterns) => ["error", { patterns }];

const libsodiumGlobals = ["sodium", "libsodium", "importScripts"].map((name) => ({ name, message: NO_LIBSODIUM }));
const networkGlobals = ["fetch", "XMLHttpRequest", "WebSocket", "EventSource"].map((name) => ({ name, message: NO_NETWORK }));
const viaGlobalObject = (names, message) =>
  ["self", "window", "globalThis"].flatMap((object) => names.map((property) => ({ object, property, message })));
const libsodiumSyntax = [
  // import() is not covered by no-restricted-imports.
  { selector: "ImportExpression[source.value=/libsodium|vendor\\//]", message: NO_LIBSODIUM },
  { selector: "ImportExpression[source.type!='Literal']", message: "import() only with a literal path, so the boundaries can be checked." },
];
// Named imports say what a module takes; a namespace import only for crypto.js (vc.…).
const namespaceSyntax = [
  { selector: "ImportDeclaration[source.value!=/(^|\\/)crypto\\.js$/] > ImportNamespaceSpecifier",
    message: "Import names, not a namespace (only crypto.js is imported as `* as vc`)." },
];

export default [
  { ignores: ["node_modules/**", "vault/static/vendor/**"] },
  {
    files: ["vault/static/js/**/*.js"],
    languageOptions: {
      ecmaVersion: 2024,
      sourceType: "module",
      globals: { ...globals.browser },
    },
    rules: {
      ...js.configs.recommended.rules,
      // Off: they flag deliberate code, not mistakes. Variables are initialised defensively even
      // where every path assigns them (crypto.js verify(): `let ok = false`), and exif.js matches
      // control characters on purpose (Python's \s includes \x1c-\x1f).
      "no-useless-assignment": "off",
      "no-control-regex": "off",
      "no-restricted-imports": restrictedImports([libsodiumImports, apiFromApiJs]),
      "no-restricted-globals": ["error", ...libsodiumGlobals, ...networkGlobals],
      "no-restricted-properties": ["error", ...viaGlobalObject(["sodium", "libsodium", "importScripts"], NO_LIBSODIUM),
        ...viaGlobalObject(["fetch", "XMLHttpRequest", "WebSocket", "EventSource"], NO_NETWORK)],
      "no-restricted-syntax": ["error", ...libsodiumSyntax, ...namespaceSyntax],
    },
  },
  {
    // The web workers run crypto.js (never libsodium itself) and have the worker's globals.
    files: ["vault/static/js/*-worker.js"],
    languageOptions: { globals: { ...globals.worker } },
  },
  {
    // The service worker fetches the build's assets for its cache, and nothing else (js/sw.js): it
    // never talks to the API, so the API client's rules (CSRF, errors, session expiry) do not apply.
    files: ["vault/static/js/sw.js"],
    languageOptions: { globals: { ...globals.serviceworker } },
    rules: {
      "no-restricted-globals": ["error", ...libsodiumGlobals],
      "no-restricted-properties": ["error", ...viaGlobalObject(["sodium", "libsodium", "importScripts"], NO_LIBSODIUM)],
    },
  },
  {
    // The one module that wraps libsodium.
    files: ["vault/static/js/crypto.js"],
    rules: {
      "no-restricted-imports": restrictedImports([apiFromApiJs]),
      "no-restricted-globals": ["error", ...networkGlobals],
    },
  },
  {
    // The one module that talks to the server.
    files: ["vault/static/js/api.js"],
    rules: {
      "no-restricted-globals": ["error", ...libsodiumGlobals],
      "no-restricted-properties": ["error", ...viaGlobalObject(["sodium", "libsodium", "importScripts"], NO_LIBSODIUM)],
    },
  },
  // The streaming ZIP writer has one home (exportzip.js); everything else in vendor/ stays crypto.js's
  // alone. (exifr was weighed for exif.js and not taken: docs/web.md "EXIF".)
  ...[["vault/static/js/exportzip.js", "client-zip.js"]].map(([file, lib]) => ({
    files: [file],
    rules: {
      "no-restricted-imports": restrictedImports([
        { group: ["*libsodium*", "**/vendor/**", `!**/vendor/${lib}`], message: NO_LIBSODIUM }, apiFromApiJs]),
    },
  })),
];
