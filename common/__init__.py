"""What both sides share: the typed settings, document metadata and statuses, numerals, language detection."""
