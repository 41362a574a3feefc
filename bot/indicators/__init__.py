"""Quality indicators (R-24; standard section 6, table 1 #2–5; §4.5.7–4.5.8):
the standard's ease, satisfaction, NPS and repeat requests with their star
levels, and the assistant's own measures, per period, channel and life
situation — computed from the anonymized event and rating streams only.

    standard.py   the arithmetic and the star levels (pure)
    fold.py       the streams folded into per-day counters, incrementally
    report.py     a period read from the counters; the indicators computed
    export.py     CSV and XLSX for the project office
    charts.py     weekly trend charts (inline SVG)
    console.py    the supervisors' page in the operator console
    keys.py       its Redis keys
"""
