"""Engineering units as OPC UA EUInformation: the UNECE Recommendation 20 common codes.

OPC 10000-8 §5.6.3 has servers give EngineeringUnits as EUInformation with namespaceUri
http://www.opcfoundation.org/UA/units/un/cefact and UnitId computed from the UNECE code's
letters (each character's ASCII value shifted into one Int32).  Units a tag map writes
that UNECE has no code for get UnitId -1 and keep their own text as DisplayName.
"""

from __future__ import annotations

from asyncua import ua

UNECE_NAMESPACE = "http://www.opcfoundation.org/UA/units/un/cefact"

# Tag-map spelling -> (UNECE common code, description), Rec. 20 Annex I.  Only codes we are
# sure of: oilfield units without an exact UNECE code (spm, Mscf/d, klbf, ppg, 1/64 in) get
# UnitId -1 and their own text, which OPC 10000-8 allows.
UNECE = {
    "psi": ("PS", "pound-force per square inch"),
    "degF": ("FAH", "degree Fahrenheit"),
    "degC": ("CEL", "degree Celsius"),
    "%": ("P1", "percent"),
    "bbl": ("BLL", "barrel (US)"),
    "bbl/d": ("B1", "barrel (US) per day"),
    "bbl/min": ("5A", "barrel (US) per minute"),
    "lbf": ("C78", "pound-force"),
    "ft": ("FOT", "foot"),
    "in": ("INH", "inch"),
    "rpm": ("RPM", "revolutions per minute"),
    "h": ("HUR", "hour"),
    "s": ("SEC", "second"),
    "min": ("MIN", "minute"),
    "A": ("AMP", "ampere"),
    "V": ("VLT", "volt"),
    "kW": ("KWT", "kilowatt"),
    "Hz": ("HTZ", "hertz"),
    "g": ("GRM", "gram"),
    "ft/min": ("FR", "foot per minute"),
    "ft/h": ("K14", "foot per hour"),
    "gpm": ("G2", "US gallon per minute"),
    "ft*lbf": ("85", "foot pound-force"),
    "kPa": ("KPA", "kilopascal"),
    "bar": ("BAR", "bar"),
    "m": ("MTR", "metre"),
    "m3/d": ("G52", "cubic metre per day"),
}


def unit_id(code: str) -> int:
    """OPC 10000-8 §5.6.3: UnitId from the UNECE code's characters, first one highest."""
    value = 0
    for ch in code.upper():
        value = (value << 8) | ord(ch)
    return value


def eu_information(units: str) -> ua.EUInformation:
    eu = ua.EUInformation()
    eu.NamespaceUri = UNECE_NAMESPACE
    found = UNECE.get(units)
    if found is None:
        eu.UnitId = -1
        eu.DisplayName = ua.LocalizedText(units)
        eu.Description = ua.LocalizedText(units)
    else:
        eu.UnitId = unit_id(found[0])
        eu.DisplayName = ua.LocalizedText(units)
        eu.Description = ua.LocalizedText(found[1])
    return eu
