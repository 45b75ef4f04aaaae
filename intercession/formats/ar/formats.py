# Django's Arabic formats, with the date-and-time ones it lacks, and ours.
DATETIME_FORMAT = "j F، Y، g:i A"
SHORT_DATETIME_FORMAT = "d‏/m‏/Y g:i A"
DAY_MONTH_FORMAT = "j‏/n"  # 30/11: month names are too long under a column
WEEKDAY_DATE_FORMAT = "l، j F، Y"
