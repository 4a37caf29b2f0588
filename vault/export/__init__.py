"""Exports: the document model, its DOCX and PDF renderers, field mappings and the bundle.

Plugin authors import from vault.plugin_api, which names what of this
package (the Document model, mappings as data, the shared values and
``render``) a plugin may use. The bundle with the custody annex and its
offline check are vault.export.bundle and vault.export.verify; the names
both agree on are in vault.export.layout.
"""
