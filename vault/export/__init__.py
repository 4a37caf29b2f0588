"""Exports: the document model, its DOCX and PDF renderers, field mappings and the bundle.

Plugin authors use vault.export.types (the values crossing the hooks),
vault.export.document (the Document model), vault.export.mapping (mappings
as data) and vault.export.context (shared values and ``render``). The
bundle with the custody annex and its offline check are in
vault.export.bundle and vault.export.verify.
"""
