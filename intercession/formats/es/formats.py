# Django's Spanish formats, and ours.
DAY_MONTH_FORMAT = "j M"
WEEKDAY_DATE_FORMAT = r"l, j \d\e F \d\e Y"
