"""The classes of disagreement between Chancery's raw resource reader and Python's json_format that are known.

ORACLE_QUIRKS: Python accepts what the proto3 JSON mapping does not allow, and Chancery rightly refuses.
KNOWN_DISAGREEMENTS: Chancery is wrong (or a decision is pending); each one is reported to the lead with a
reproducer and waits for a fix in the reader. Each entry is (name, predicate on a test_raw_oracle.Case).
"""
import json
import re

# Where Python's json_format accepts what the proto3 JSON mapping does not allow, and Chancery rightly refuses. Each
# entry: (name, predicate on the case); a refusal by Chancery matching one is counted under "oracle-quirk:NAME".
ORACLE_QUIRKS = [
    # ParseDict iterates a message's JSON value, so "" and [] pass as an empty message.
    ("empty-text-or-list-as-message",
     lambda case: re.search(r'must be a mapping \(.*\), found (the text ""|a list)$', case.chancery_message())),
    # An Any's "@type" without a "/" ("envoy....TcpProxy"): Python takes the whole text as the type name.
    ("type-url-without-slash", lambda case: "must be a type URL such as" in case.chancery_message()),
    # More than nine fractional digits in a Duration: Python rounds them away.
    ("duration-beyond-nanoseconds",
     lambda case: re.search(r'"-?\d+\.\d{10,}s" is not a duration', case.chancery_message())),
    # Python reads a Duration's seconds with int(), which also takes a "+" sign and surrounding blanks.
    ("duration-with-plus-or-blank", lambda case: re.search(r'"[+\s][^"]*" is not a duration', case.chancery_message())),
    # Python reads an enum number with int(), which truncates 2.5 to 2; a fraction is not an enum number.
    ("enum-number-truncated",
     lambda case: re.search(r"or a 32-bit number, found -?\d+\.\d*[1-9]\d*$", case.chancery_message())),
    # One field under both spellings ("clusterName" and "cluster_name"): Python checks keys, not fields, so the
    # last one wins.
    ("one-field-two-spellings", lambda case: re.search(r"^field \S+ is given twice", case.chancery_message())),
    # Python's int() also takes "1_000" and digits of other scripts ("١٢"); proto3 JSON integers are ASCII decimal.
    ("int-syntax-of-python",
     lambda case: re.search(r'must be a whole number, found the text "[^"]*(_|[^\x00-\x7f])', case.chancery_message())),
    # Python decodes base64 leniently: it drops characters outside the alphabet and anything after the padding.
    ("lenient-base64", lambda case: "is not base64" in case.chancery_message() and any(
        not re.fullmatch(r"[A-Za-z0-9+/_-]*={0,2}", text) or len(text.rstrip("=")) % 4 == 1
        or (text.endswith("=") and len(text) % 4 != 0) for text in strings_at(case.resource, case.chancery_key()))),
    # An Any of a well-known type with keys besides "@type" and "value": Python ignores them.
    ("extra-keys-in-any-of-well-known-type", lambda case: 'has only "@type" and "value"' in case.chancery_message()),
    # The same int() takes true and false as 1 and 0 for an enum.
    ("enum-from-boolean", lambda case: re.search(r"must be a name of \S+, found the boolean", case.chancery_message())),
]

# Disagreement classes reported to the lead, waiting for a fix in the reader (or a decision). Each entry: (name,
# predicate on the case); a case matching one is counted under "known:NAME", not failed. Keep every entry reported.
KNOWN_DISAGREEMENTS = [
    # An enum given as an integral number in decimal form (1.0): Python takes it, as Chancery does for int fields.
    ("enum-number-as-decimal",
     lambda case: re.search(r"must be a name of \S+ or a 32-bit number, found -?\d+\.0+$", case.chancery_message())),
    # An enum number given as text ("3"): Python (and protobuf's C++ parser) take it; Chancery wants a name or number.
    ("enum-number-as-text", lambda case: re.search(r'^"-?\d+" is not a value of ', case.chancery_message())),
    # An Any written as {} (no "@type"): Python reads the empty Any; Chancery asks for "@type".
    ("empty-any", lambda case: re.search(r'needs "@type"', case.chancery_message())),
    # A Duration with a "." and no digits after it ("1.s"): Python takes it as 1s.
    ("duration-empty-fraction", lambda case: re.search(r'"-?\d+\.s" is not a duration', case.chancery_message())),
    # A character beyond U+FFFF written as a JSON surrogate pair ("\ud83d\ude00", as Python's json.dump writes it):
    # the YAML parser refuses the escape, so the whole file fails with a syntax error.
    ("surrogate-pair-escape",
     lambda case: "invalid Unicode character escape code" in case.chancery_message()
     and re.search(r"\\ud[89ab][0-9a-f]{2}\\ud[c-f]", json.dumps(case.resource))),
    # A NUL character in text: the reader takes it, then encoding fails after reading, with no file:line:col
    # ("cannot encode cluster ...: string contains a NUL byte").
    ("nul-in-text", lambda case: case.chancery[0] == "unattributed" and "contains a NUL byte" in case.chancery[1]),
    # Integer text in hexadecimal ("0x10", even "0x1p3"): Swift's Double(text) reads it, so Chancery takes 16;
    # proto3 JSON integers are decimal, and Python refuses.
    ("hex-integer-text",
     lambda case: case.chancery[0] == "accept" and re.search(r"with base 10: '-?0x", str(case.python[1]))),
    # An int64 a little below the minimum (-9223372036854775809 ... -9223372036854776832, all of which round to -2^63
    # as a Double) is taken as -9223372036854775808 instead of being refused as out of range.
    ("int64-below-minimum-rounded",
     lambda case: case.chancery[0] == "accept" and any(
         -9223372036854776832 <= int(n) < -9223372036854775808
         for n in re.findall(r"Value out of range: (-\d+)", str(case.python[1])))),
    # An Any holding an Any ({"@type": ".../google.protobuf.Any", "value": {"@type": ...}}): Chancery reads the
    # inner object as the fields of Any and refuses "@type"; it should read it as an Any.
    ("any-inside-any", lambda case: 'google.protobuf.Any has no field "@type"' in case.chancery_message()),
    # Bytes that are not UTF-8 (a lone surrogate written raw): the raw file is read with U+FFFD in their place and
    # accepted; Python's parser refuses the unpaired surrogate.
    ("invalid-utf8-accepted",
     lambda case: case.chancery[0] == "accept" and case.index % 2 == 1 and "Unpaired surrogate" in case.python[1]),
]


def strings_at(value, key):
    """Every text under `key` anywhere in `value`."""
    if isinstance(value, dict):
        for k, item in value.items():
            if k == key and isinstance(item, str):
                yield item
            yield from strings_at(item, key)
    elif isinstance(value, list):
        for item in value:
            yield from strings_at(item, key)
