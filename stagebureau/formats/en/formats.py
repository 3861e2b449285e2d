# Compact dates for tables and lists: "29 Nov 2026", "29 Nov 2026 14:05" (24-hour clock, as the
# Dutch users of the English interface expect). Everything else is Django's English locale.
SHORT_DATE_FORMAT = "j M Y"
SHORT_DATETIME_FORMAT = "j M Y H:i"
