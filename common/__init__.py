"""What both sides share: the typed settings (and, as they move here, document metadata, numerals, language)."""
