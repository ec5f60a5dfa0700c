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
    ("one-field-two-spellings",
     lambda case: re.search(r'^"\S+" sets field "\S+" a second time', case.chancery_message())),
    # Python's int() also takes "1_000", a leading "+" and digits of other scripts ("١٢"); proto3 JSON integers are
    # ASCII decimal, in JSON's number syntax.
    ("int-syntax-of-python",
     lambda case: re.search(r'must be a whole number, found the text "(\+|[^"]*(_|[^\x00-\x7f]))',
                            case.chancery_message())),
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
    # An Any written as {} (no "@type"): Python reads the empty Any. Chancery refuses it on purpose: an empty
    # typed_config is always a mistake in an Envoy resource, and Envoy would only refuse it later, less clearly.
    ("empty-any", lambda case: re.search(r'needs "@type"', case.chancery_message())),
]
# Fixed after the oracle's first long run (each now counts as a disagreement if it comes back): enum numbers as text
# or as integral decimals, "1.s" durations, surrogate-pair escapes, NUL in text, hexadecimal integer text, int64s
# below the minimum rounded to it, an Any inside an Any, bytes that are not UTF-8, and uint64s of 2^64 or more (a
# crash).


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
