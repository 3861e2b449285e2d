# Compact dates for tables and lists, the Dutch way: "29 nov 2026", "29 nov 2026 14:05".
# Everything else (full dates, input formats) is Django's own Dutch locale.
SHORT_DATE_FORMAT = "j b Y"
SHORT_DATETIME_FORMAT = "j b Y H:i"
