# Django's French formats, and ours.
DAY_MONTH_FORMAT = "j M"
WEEKDAY_DATE_FORMAT = "l j F Y"
