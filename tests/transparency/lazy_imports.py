# imports: datetime time calendar
# Imports the interpreter and the standard library make on the script's
# behalf, which are not the script's: strptime imports _strptime (and it
# locale) lazily, from C; codecs are found and imported on first use
# (encodings.idna, encodings.cp1252); calendar imports locale.
import calendar
import datetime
import time

d = datetime.datetime.strptime("2024-02-29 13:45", "%Y-%m-%d %H:%M")
print(d.isoformat(), d.strftime("%A %B"))
t = time.strptime("1 Mar 2023", "%d %b %Y")
print(t.tm_year, t.tm_mon, t.tm_mday, t.tm_yday)
print("b\u00fccher.example".encode("idna"))
print(b"xn--bcher-kva.example".decode("idna"))
print("\u20ac".encode("cp1252"))
print(calendar.month_name[2], calendar.day_abbr[0])
print(calendar.TextCalendar().formatmonth(2024, 2))
