"""How each shipped language writes dates (FORMAT_MODULE_PATH): Django's own
locale formats, with two of our own every language defines, and English
written day first with 24-hour times (as the app always has)
rather than American.

- `DAY_MONTH_FORMAT`: a chart's week labels, short ("2 Dec", "12월 2일").
- `WEEKDAY_DATE_FORMAT`: the printed prayer sheet's date, with its weekday.

Templates name a format (`|date:"SHORT_DATE_FORMAT"`), never spell one out
(`tests/test_languages.py`); the only literal one is the machine-readable
`Y-m-d` of a `<time datetime>`.
"""
