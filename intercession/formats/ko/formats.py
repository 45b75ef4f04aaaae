# Django's Korean formats, and ours.
DAY_MONTH_FORMAT = "n월 j일"
WEEKDAY_DATE_FORMAT = "Y년 n월 j일 l"
