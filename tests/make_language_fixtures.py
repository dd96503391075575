"""Write the generated fixtures of issue 12 (languages, layouts, xlsx, Libre desktop, Apple zip).

    .venv/bin/python tests/make_language_fixtures.py

Every file is built from a header set documented in ``docs/formats.md`` (which says where each
came from) and filled with seeded random values, so running this again writes the same bytes
(the xlsx and zip files embed no time stamps that change: their dates are fixed below). The
tests never import this script: they count each fixture's rows themselves with the ``csv``
module (or an XML/zip parser), independently of the readers. Person names are the synthetic
``Synthetic`` / ``Person``; serial numbers are made up.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent / "fixtures"
T0 = dt.datetime(2026, 2, 15, 20, 24, 16)

# ----------------------------------------------------------------------------- Dexcom Clarity
#: Japanese header, verbatim from a real export (docs/formats.md, "Dexcom Clarity (languages)").
CLARITY_JA = [
    "索引", "タイムスタンプ (YYYY-MM-DDThh:mm:ss)", "イベント タイプ", "イベント サブタイプ",
    "患者情報", "デバイス情報", "ソースデバイス ID", "グルコース値 (mg/dL)", "インスリン値 (単位)",
    "炭水化物値 (グラム)", "期間 (hh:mm:ss)", "グルコース変化率 (mg/dL/min)",
    "トランスミッター時刻 (長整数)", "トランスミッター ID",
]  # fmt: skip
#: German, the 11 cells one source documents (the rest of the row is absent there too).
CLARITY_DE = [
    "Index", "Zeitstempel (JJJJ-MM-TTThh:mm:ss)", "Ereignistyp", "Ereignisuntertyp",
    "Patienteninfo", "Geräteinfo", "Quellgeräte-ID", "Glukosewert (mmol/l)", "Insulinwert (IE)",
    "Kohlenhydratwert (Gramm)", "Dauer (hh:mm:ss)",
]  # fmt: skip
#: The 13-column layout of older exports (no Transmitter ID), as in the BIG IDEAs Lab files.
CLARITY_13 = [
    "Index", "Timestamp (YYYY-MM-DDThh:mm:ss)", "Event Type", "Event Subtype", "Patient Info",
    "Device Info", "Source Device ID", "Glucose Value (mg/dL)", "Insulin Value (u)",
    "Carb Value (grams)", "Duration (hh:mm:ss)", "Glucose Rate of Change (mg/dL/min)",
    "Transmitter Time (Long Integer)",
]  # fmt: skip
CLARITY_12 = CLARITY_13[:-1]
CLARITY_EN = CLARITY_13 + ["Transmitter ID"]


def _localised(cells: dict[int, str]) -> list[str]:
    """The English 14-column header with the documented cells of a language put in."""
    return [cells.get(i, c) for i, c in enumerate(CLARITY_EN)]


#: Spanish: the five documented cells in Clarity's order, the undocumented ones in English.
CLARITY_ES = _localised({1: "Marca temporal (AAAA-MM-DDThh:mm:ss)", 2: "Tipo de evento",
                         7: "Nivel de glucosa (mg/dL)", 8: "Nivel de insulina (u)",
                         9: "Nivel de carbohidratos (gramos)"})  # fmt: skip
#: Italian: the five documented cells in Clarity's order, the undocumented ones in English.
CLARITY_IT = _localised({1: "Data e ora (AAAA-MM-GGThh:mm:ss)", 2: "Tipo di evento",
                         3: "Sottotipo di evento", 7: "Valore del glucosio (mg/dL)",
                         13: "ID trasmettitore"})  # fmt: skip


def _clarity_rows(
    n: int, *, egv: str, meal: str, exercise: str, light: str, fasting: str | None,
    seed: int, mmol: bool = False, ncols: int = 14, first: str = "FirstName",
    last: str = "LastName", device: str = "Device", alert: str = "Alert", iso: bool = True,
) -> list[list[str]]:  # fmt: skip
    """Preamble, ``n`` EGV rows every 5 min, one meal, one exercise and a fasting glucose."""
    rng = np.random.default_rng(seed)
    rows = [
        ["1", "", first, "", "Synthetic"],
        ["2", "", last, "", "Person"],
        ["3", "", device, "", "", "Dexcom G7 Mobile App", "android G7"],
        ["4", "", alert, "High", "", "", "android G7", "250"],
        ["5", "", alert, "Low", "", "", "android G7", "70"],
    ]
    k = len(rows) + 1
    for i in range(n):
        t = T0 + dt.timedelta(minutes=5 * i, seconds=int(rng.integers(0, 3)))
        v = int(rng.integers(60, 250))
        val = f"{v / 18.0156:.1f}".replace(".", ",") if mmol else str(v)
        stamp = t.strftime("%Y-%m-%dT%H:%M:%S" if iso else "%Y-%m-%d %H:%M:%S")
        rows.append([str(k), stamp, egv, "", "", "", "android G7", val, "", "", "", "",
                     str(1680 + 300 * i), "136957040965"])  # fmt: skip
        k += 1
        if i == 10:
            rows.append([str(k), (t + dt.timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%S"),
                         meal, "", "", "", "", "", "", "50"])  # fmt: skip
            k += 1
        if i == 20:
            rows.append([str(k), (t + dt.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S"),
                         exercise, light, "", "", "", "", "", "", "00:30:00"])  # fmt: skip
            k += 1
        if i == 30 and fasting:
            rows.append([str(k), (t + dt.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S"),
                         fasting, "", "", "", "", "125"])  # fmt: skip
            k += 1
    return [(r + [""] * ncols)[:ncols] for r in rows]


def _write_csv(path: Path, header: list[str], rows: list[list[str]], *, delimiter: str = ",",
               quoting: int = csv.QUOTE_MINIMAL, bom: bool = False) -> None:  # fmt: skip
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, quoting=quoting, lineterminator="\r\n")
    w.writerow(header)
    w.writerows(rows)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + buf.getvalue().encode("utf-8"))


def write_clarity() -> None:
    """The Clarity language and layout fixtures."""
    out = HERE / "dexcom"
    ja = _clarity_rows(60, egv="EGV", meal="食事", exercise="活動", light="ミディアム",
                       fasting="空腹時グルコース", seed=1, first="名", last="姓",
                       device="デバイス", alert="アラート")  # fmt: skip
    _write_csv(out / "clarity_ja.csv", CLARITY_JA, ja, quoting=csv.QUOTE_ALL, bom=True)
    de = _clarity_rows(60, egv="EGV", meal="Carbs", exercise="Exercise", light="Light",
                       fasting=None, seed=2, mmol=True, ncols=11)  # fmt: skip
    _write_csv(out / "clarity_de_mmol.csv", CLARITY_DE, de, delimiter=";", bom=True)
    es = _clarity_rows(60, egv="Niveles estimados de glucosa", meal="Carbs",
                       exercise="Exercise", light="Light", fasting=None, seed=3)  # fmt: skip
    _write_csv(out / "clarity_es.csv", CLARITY_ES, es, delimiter=";", bom=True)
    it = _clarity_rows(60, egv="EGV", meal="Carbs", exercise="Exercise", light="Light",
                       fasting=None, seed=4)  # fmt: skip
    _write_csv(out / "clarity_it.csv", CLARITY_IT, it, delimiter=";")
    old = _clarity_rows(60, egv="EGV", meal="Carbs", exercise="Exercise", light="Light",
                        fasting=None, seed=5, ncols=13, iso=False)  # fmt: skip
    _write_csv(out / "clarity_13col.csv", CLARITY_13, old)
    old12 = _clarity_rows(60, egv="EGV", meal="Carbs", exercise="Exercise", light="Light",
                          fasting=None, seed=6, ncols=12)  # fmt: skip
    _write_csv(out / "clarity_12col.csv", CLARITY_12, old12)
    write_clarity_xlsx(out / "clarity_g7.xlsx")


def write_clarity_xlsx(path: Path) -> None:
    """An English Clarity export saved as .xlsx: times as Excel dates, numbers as numbers."""
    from openpyxl import Workbook

    rows = _clarity_rows(60, egv="EGV", meal="Carbs", exercise="Exercise", light="Light",
                         fasting=None, seed=7)  # fmt: skip
    wb = Workbook()
    ws = wb.active
    ws.title = "CLARITY_Export"
    ws.append(CLARITY_EN)
    for r in rows:
        cells: list[object] = []
        for j, c in enumerate(r):
            if j == 1 and c:
                cells.append(dt.datetime.strptime(c, "%Y-%m-%dT%H:%M:%S"))
            elif j in (0, 7, 8, 9, 12) and c.replace(".", "").isdigit():
                cells.append(int(c) if c.isdigit() else float(c))
            else:
                cells.append(c or None)
        ws.append(cells)
    wb.properties.created = wb.properties.modified = dt.datetime(2026, 2, 20, 12, 0, 0)
    buf = io.BytesIO()
    wb.save(buf)
    path.write_bytes(_fixed_zip(buf.getvalue()))


def _fixed_zip(data: bytes) -> bytes:
    """Rewrite a zip with fixed member dates, so that the bytes do not depend on today."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(2026, 2, 20, 12, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps the time of saving
                data = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2026-02-20T12:00:00Z", data
                )
            dst.writestr(fixed, data)
    return out.getvalue()


# ----------------------------------------------------------------------------- LibreView
LIBRE_FR = (
    "Appareil,Numéro de série,Horodatage de l'appareil,Type d'enregistrement,Historique de la "
    "glycémie mg/dL,Numérisation de la glycémie mg/dL,Insuline à action rapide sans valeur "
    "numérique,Insuline à action rapide (unités),Alimentation sans valeur numérique,Glucides "
    "(grammes),Glucides (portions),Insuline à action longue sans valeur numérique,Insuline à "
    "action longue (unités),Remarques,Glycémie par bandelette mg/dL,Cétone mmol/L,Insuline repas "
    "(unités),Correction insuline (unités),Insuline modifiée par l'utilisateur (unités)"
).split(",")
LIBRE_ES = (
    "Dispositivo,Número de serie,Sello de tiempo del dispositivo,Tipo de registro,Historial de "
    "glucosa mg/dL,Escaneo de glucosa mg/dL,Insulina de acción rápida no numérica,Insulina de "
    "acción rápida (unidades),Alimento no numérico,Carbohidratos (gramos),Carbohidratos "
    "(porciones),Insulina de acción larga no numérica,Insulina de acción larga (unidades),Notas,"
    "Tira reactiva para glucosa mg/dL,Cuerpos cetónicos mmol/L,Comida e insulina (unidades),"
    "Insulina de corrección (unidades),Insulina del cambio de usuario (unidades)"
).split(",")
LIBRE_DE = (
    "Gerät,Seriennummer,Gerätezeitstempel,Aufzeichnungstyp,Glukosewert-Verlauf mg/dL,Glukose-Scan "
    "mg/dL,Nicht numerisches schnellwirkendes Insulin,Schnellwirkendes Insulin (Einheiten),Nicht "
    "numerische Nahrungsdaten,Kohlenhydrate (Gramm),Kohlenhydrate (Portionen),Nicht numerisches "
    "Depotinsulin,Depotinsulin (Einheiten),Notizen,Glukose-Teststreifen mg/dL,Keton mmol/L,"
    "Mahlzeiteninsulin (Einheiten),Korrekturinsulin (Einheiten),Insulin-Änderung durch Anwender "
    "(Einheiten)"
).split(",")
LIBRE_TITLES = {
    "fr": ["Données de glycémie", "Généré le", "24-02-2026 12:12 UTC", "Généré par", "Synthetic"],
    "es": ["Informe del paciente", "Generado el", "24-02-2026 12:12 UTC", "Generado por", "Synthetic"],
    "de": ["Glukose-Werte", "Erstellt am", "24-02-2026 12:12 UTC", "Erstellt von", "Synthetic"],
}  # fmt: skip
#: FreeStyle Libre desktop software, English (docs/formats.md, "FreeStyle Libre desktop TSV").
DESKTOP_EN = (
    "ID\tTime\tRecord Type\tHistoric Glucose (mmol/L)\tScan Glucose (mmol/L)\tNon-numeric "
    "Rapid-Acting Insulin\tRapid-Acting Insulin (units)\tNon-numeric Food\tCarbohydrates (grams)"
    "\tNon-numeric Long-Acting Insulin\tLong-Acting Insulin (units)\tNotes\tStrip Glucose "
    "(mmol/L)\tKetone (mmol/L)\tMeal Insulin (units)\tCorrection Insulin (units)\tUser Change "
    "Insulin (units)\tPrevious Time\tUpdated Time"
).split("\t")
#: The same software in Spanish (the older files of a public dataset).
DESKTOP_ES = (
    "ID;Hora;Tipo de registro;Histórico glucosa (mg/dL);Glucosa leída (mg/dL);Insulina de acción "
    "rápida sin valor numérico;Insulina de acción rápida (unidades);Alimentos sin valor numérico;"
    "Carbohidratos (raciones);Insulina de acción lenta sin valor numérico;Insulina de acción "
    "lenta (unidades);Notas;Glucosa de la tira (mg/dL);Cetonas (mmol/L);Insulina comida "
    "(unidades);Insulina corrección (unidades);Insulina cambio usuario (unidades);Hora anterior;"
    "Hora actualizada"
).split(";")


def _libre_records(seed: int, n: int = 200) -> list[dict[str, object]]:
    """Record dicts (canonical keys) of a LibreView file, grouped by type as real files are."""
    rng = np.random.default_rng(seed)
    t0 = dt.datetime(2026, 2, 13, 21, 58)
    hist = [{"t": t0 + dt.timedelta(minutes=15 * i), "type": 0,
             "historic": int(rng.integers(50, 300))} for i in range(n)]  # fmt: skip
    scans = [{"t": t0 + dt.timedelta(minutes=37 * i + 3), "type": 1,
              "scan": int(rng.integers(50, 300))} for i in range(n // 10)]  # fmt: skip
    ins: list[dict[str, object]] = []
    for i in range(n // 8):
        t = t0 + dt.timedelta(hours=3 * i, minutes=7)
        r = int(rng.integers(0, 6))
        if r == 0:  # a rapid-acting entry without an amount: the flag only
            ins.append({"t": t, "type": 4, "rapid_text": "1"})
        elif r == 1:  # long-acting dose
            ins.append({"t": t, "type": 4, "long": int(rng.integers(8, 14))})
        elif r == 2:  # long-acting without an amount
            ins.append({"t": t, "type": 4, "long_text": "1"})
        else:  # rapid-acting dose in units
            ins.append({"t": t, "type": 4, "rapid": int(rng.integers(1, 9))})
    food: list[dict[str, object]] = []
    for i in range(n // 10):
        t = t0 + dt.timedelta(hours=5 * i, minutes=11)
        r = int(rng.integers(0, 3))
        if r == 0:  # food without an amount: the flag only
            food.append({"t": t, "type": 5, "food_text": "1"})
        elif r == 1:
            food.append({"t": t, "type": 5, "carbs_g": int(rng.integers(10, 90))})
        else:
            food.append({"t": t, "type": 5, "carbs_g": int(rng.integers(10, 90)), "food_text": "1"})
    t6 = [{"t": t0 + dt.timedelta(minutes=41 * i), "type": 6} for i in range(n // 20)]
    return hist + scans + ins + food + t6


_LIBRE_KEYS = ["device", "serial", "time", "type", "historic", "scan", "rapid_text", "rapid",
               "food_text", "carbs_g", "carbs_servings", "long_text", "long", "notes", "strip",
               "ketone", "meal_insulin", "correction_insulin", "user_change"]  # fmt: skip


def write_libreview() -> None:
    """LibreView in French, Spanish and German, and the desktop software's exports."""
    out = HERE / "libreview"
    out.mkdir(exist_ok=True)
    for lang, header, seed in (("fr", LIBRE_FR, 11), ("es", LIBRE_ES, 12), ("de", LIBRE_DE, 13)):
        rows = [LIBRE_TITLES[lang] + [""] * (len(header) - 5)]
        for rec in _libre_records(seed):
            cells = dict(rec, device="FreeStyle LibreLink", serial="0000aaaa-1111-2222-3333",
                         time=rec["t"].strftime("%d-%m-%Y %H:%M"))  # fmt: skip
            rows.append(["" if cells.get(k) is None else str(cells[k]) for k in _LIBRE_KEYS])
        _write_csv(out / f"libreview_{lang}.csv", rows[0], [header] + rows[1:])
    _desktop(out / "libre_desktop_en.txt", DESKTOP_EN, "\t", seed=14, mmol=True)
    _desktop(out / "libre_desktop_es.txt", DESKTOP_ES, ";", seed=15, mmol=False)


_DESKTOP_KEYS = ["id", "time", "type", "historic", "scan", "rapid_text", "rapid", "food_text",
                 "carbs", "long_text", "long", "notes", "strip", "ketone", "meal_insulin",
                 "correction_insulin", "user_change", "previous", "updated"]  # fmt: skip


def _desktop(path: Path, header: list[str], delim: str, seed: int, mmol: bool) -> None:
    rows = []
    for i, rec in enumerate(_libre_records(seed, n=120)):
        cells = dict(rec, id=str(1000 + i), time=rec["t"].strftime("%Y/%m/%d %H:%M"))
        carbs = rec.get("carbs_g")
        # the Spanish software's carbohydrate column counts raciones (servings), not grams
        cells["carbs"] = carbs if mmol or carbs is None else f"{int(carbs) / 10:g}"
        for k in ("historic", "scan"):
            if k in rec and mmol:
                cells[k] = f"{int(rec[k]) / 18.0156:.1f}"
        rows.append(["" if cells.get(k) is None else str(cells[k]) for k in _DESKTOP_KEYS])
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delim, lineterminator="\r\n")
    buf.write("Synthetic Person\r\n")  # the first line names the patient
    w.writerow(header)
    w.writerows(rows)
    path.write_bytes(buf.getvalue().encode("utf-8"))


# ----------------------------------------------------------------------------- Cronometer
def write_cronometer() -> None:
    """A servings export without a Time column, and the daily-summary export."""
    out = HERE / "logs"
    header = ["Day", "Group", "Food Name", "Amount", "Energy (kcal)", "Carbs (g)",
              "Net Carbs (g)", "Protein (g)", "Category"]  # fmt: skip
    rows = [
        ["2026-03-13", "Breakfast", "Oats, rolled, dry", "40.00 g", "150.4", "27.00", "23.00",
         "5.30", "Breakfast Cereals"],
        ["2026-03-13", "Lunch", "Lumberjack Burger", "1.00 full recipe", "1204.10", "80.00",
         "76.00", "53.89", ""],
        ["2026-03-13", "Uncategorized", "French Fries", "150.00 g", "293.24", "35.00", "31.00",
         "2.90", "Vegetables"],
    ]  # fmt: skip
    _write_csv(out / "cronometer_servings_no_time.csv", header, rows)
    daily = ["Date", "Energy (kcal)", "Alcohol (g)", "Caffeine (mg)", "Water (g)", "Carbs (g)",
             "Fiber (g)", "Net Carbs (g)", "Fat (g)", "Protein (g)", "Completed"]  # fmt: skip
    drows = [["2026-02-17", "2026.70", "0.00", "24.73", "756.05", "189.72", "30.67", "158.53",
              "90.50", "110.46", "true"],
             ["2026-02-18", "1595.00", "0.00", "0.00", "696.42", "106.33", "12.65", "93.21",
              "67.49", "117.94", "false"]]  # fmt: skip
    _write_csv(out / "cronometer_daily_summary.csv", daily, drows)


# ----------------------------------------------------------------------------- Apple Health
APPLE_BODY = """<HealthData locale="en_GB">
 <ExportDate value="2026-02-20 12:00:00 +0100"/>
 <Me HKCharacteristicTypeIdentifierDateOfBirth="1970-01-01"/>
{records}</HealthData>
"""


def _apple_records(seed: int, n: int = 40) -> str:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        t = dt.datetime(2026, 2, 15, 6, 0) + dt.timedelta(minutes=5 * i)
        d = f"{t:%Y-%m-%d %H:%M:%S} +0100"
        out.append(f' <Record type="HKQuantityTypeIdentifierBloodGlucose" sourceName="CGM" '
                   f'unit="mg/dL" startDate="{d}" endDate="{d}" '
                   f'value="{int(rng.integers(60, 250))}"/>\n')  # fmt: skip
        if i % 4 == 0:
            out.append(f' <Record type="HKQuantityTypeIdentifierHeartRate" sourceName="Watch" '
                       f'unit="count/min" startDate="{d}" endDate="{d}" value="70"/>\n')  # fmt: skip
    d = "2026-02-15 07:00:00 +0100"
    out.append(f' <Record type="HKQuantityTypeIdentifierDietaryCarbohydrates" sourceName="App" '
               f'unit="g" startDate="{d}" endDate="{d}" value="45"/>\n')  # fmt: skip
    out.append(' <Workout workoutActivityType="HKWorkoutActivityTypeWalking" duration="30" '
               'durationUnit="min" sourceName="Watch" startDate="2026-02-15 08:00:00 +0100" '
               'endDate="2026-02-15 08:30:00 +0100"/>\n')  # fmt: skip
    return "".join(out)


APPLE_DTD = """<!DOCTYPE HealthData [
<!-- HealthKit Export Version: 14 -->
<!ELEMENT HealthData (ExportDate,Me,(Record|Correlation|Workout|ActivitySummary)*)>
<!ATTLIST HealthData
  locale CDATA #REQUIRED
>
]>
"""


def write_apple() -> None:
    """export.xml without a declaration, in UTF-16, and Apple's export.zip."""
    out = HERE / "apple"
    body = APPLE_BODY.format(records=_apple_records(21))
    (out / "export_no_declaration.xml").write_text(APPLE_DTD + body, encoding="utf-8")
    decl = '<?xml version="1.0" encoding="UTF-16"?>\n'
    (out / "export_utf16.xml").write_bytes(
        (decl + APPLE_DTD + APPLE_BODY.format(records=_apple_records(22))).encode("utf-16")
    )
    xml = ('<?xml version="1.0" encoding="UTF-8"?>\n' + APPLE_DTD
           + APPLE_BODY.format(records=_apple_records(23))).encode()  # fmt: skip
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in (
            ("apple_health_export/export.xml", xml),
            ("apple_health_export/export_cda.xml", b'<?xml version="1.0"?><ClinicalDocument/>'),
        ):
            zf.writestr(zipfile.ZipInfo(name, date_time=(2026, 2, 20, 12, 0, 0)), data,
                        compress_type=zipfile.ZIP_DEFLATED)  # fmt: skip
    (out / "export.zip").write_bytes(buf.getvalue())


if __name__ == "__main__":
    write_clarity()
    write_libreview()
    write_cronometer()
    write_apple()
