#!/usr/bin/env python3
"""The PII corpus: writes tuning.jsonl and holdout.jsonl beside this file.

    python3 tests/guardrails/pii/generate.py          # rewrite both files
    python3 tests/guardrails/pii/generate.py --check  # fail if the committed files differ

Deterministic (fixed seeds, stdlib only). The files are committed and read by
core/tests/pii_corpus.rs; CI does not regenerate them.

Each line: {"text": "...", "expect": [{"kind": "email", "value": "exact substring"}]};
a negative has "expect": []. Kinds are the detector's config names.

The holdout set is out of the tuning loop: its own seed, its own sentence templates (none is
shared with tuning), and formats the tuning set does not contain (other IBAN countries,
JCB/Diners/UnionPay cards, French dotted and 1-800 phone numbers, 9-digit SSNs, IPv4-mapped
and upper-case IPv6, Slack app tokens, ...; each of those comes at least once). Tune the detector against tuning.jsonl and handwritten.jsonl
only; read the holdout figures, do not fix its individual cases.

Also checks handwritten.jsonl (every expected value is a substring of its text, every kind is
known); it is part of the tuning set.
"""

from __future__ import annotations

import argparse
import base64
import ipaddress
import json
import re
import string
import sys
from pathlib import Path
from random import Random

HERE = Path(__file__).resolve().parent
KINDS = ["email", "phone", "credit_card", "iban", "us_ssn", "ip_address", "api_key", "jwt"]
SLOT = re.compile(r"\{\{(\w+)\}\}")

ALNUM = string.ascii_letters + string.digits
URLSAFE = ALNUM + "-_"
UPPER_ALNUM = string.ascii_uppercase + string.digits

# --------------------------------------------------------------------------------------------
# Check digits
# --------------------------------------------------------------------------------------------


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def luhn_complete(partial: str) -> str:
    """`partial` plus the Luhn check digit."""
    for d in "0123456789":
        if luhn_ok(partial + d):
            return partial + d
    raise AssertionError


def iban_numeric(s: str) -> int:
    return int("".join(str(int(c, 36)) for c in s))


def iban_ok(iban: str) -> bool:
    iban = iban.replace(" ", "").upper()
    return iban_numeric(iban[4:] + iban[:4]) % 97 == 1


def ssn_ok(area: int, group: int, serial: int) -> bool:
    return 0 < area < 900 and area != 666 and group > 0 and serial > 0


# --------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------

# IBAN structures (ISO 13616 registry): n digits, a upper-case letters, c letters or digits.
IBAN_SPECS = {
    # tuning countries
    "DE": "8n10n", "GB": "4a6n8n", "FR": "5n5n11c2n", "ES": "4n4n1n1n10n", "IT": "1a5n5n12c",
    "NL": "4a10n", "BE": "3n7n2n", "CH": "5n12c", "AT": "5n11n", "PL": "8n16n", "IE": "4a6n8n",
    "LU": "3n13c", "PT": "4n4n11n2n",
    # holdout-only countries
    "SE": "3n16n1n", "NO": "4n6n1n", "DK": "4n9n1n", "FI": "3n11n", "CZ": "4n6n10n",
    "HU": "3n4n1n15n1n", "RO": "4a16c", "HR": "7n10n", "SA": "2n18c", "TR": "5n1n16c",
    "BR": "8n5n10n1a1c", "GR": "3n4n16c", "MT": "4a5n18c", "LI": "5n12c", "IS": "4n2n6n10n",
    "EE": "2n2n11n1n", "LT": "5n11n", "SI": "5n8n2n", "SK": "4n6n10n", "BG": "4a4n2n8c",
    "CY": "3n5n16c", "AE": "3n16n", "IL": "3n3n13n", "KW": "4a22c", "MC": "5n5n11c2n",
}
IBAN_TUNING = ["DE", "GB", "FR", "ES", "IT", "NL", "BE", "CH", "AT", "PL", "IE", "LU", "PT"]
IBAN_HOLDOUT = [c for c in IBAN_SPECS if c not in IBAN_TUNING] + ["DE", "GB", "FR"]

# Numbers are drawn from assigned ranges (real area codes and mobile prefixes), as real ones are.
NANP_AREAS = ["201", "202", "206", "212", "213", "303", "305", "312", "404", "415", "416", "503",
              "512", "514", "604", "617", "646", "702", "713", "718", "773", "818", "917"]
DE_MOBILE = ["151", "152", "157", "160", "162", "170", "171", "172", "173", "175", "176", "177", "179"]

FIRST = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
         "mallory", "oscar", "peggy", "rupert", "sybil", "trent", "victor", "walter", "zoe",
         "mei", "raj", "priya", "hans", "ingrid", "pierre", "amelie", "kenji", "yuki", "lucia",
         "mateo", "fatima", "omar", "olga", "sven", "noah", "emma", "liam", "sofia", "arjun"]
LAST = ["smith", "jones", "garcia", "miller", "davis", "martin", "mueller", "schmidt",
        "dubois", "moreau", "rossi", "bianchi", "tanaka", "suzuki", "patel", "sharma", "kim",
        "nguyen", "novak", "kowalski", "hansen", "larsen", "silva", "santos", "ivanova",
        "obrien", "murphy", "walsh", "fischer", "weber"]
DISPLAY = ["José Álvarez", "Zoë Martin", "Jürgen Weiß", "Ana Łukasiewicz", "Søren Kierkegaard",
           "María Fernández", "Chloé Dubois", "Björn Lindqvist", "Jane Doe", "John Smith",
           "Priya Raman", "Kenji Watanabe", "Fatima Zahra", "Liam O'Connor", "Mei Chen"]
COMPANY = ["Acme Corp", "Globex", "Initech", "Umbrella GmbH", "Stark Industries", "Wayne Ltd",
           "Hooli", "Vandelay Industries", "Soylent SA", "Tyrell KK", "Cyberdyne Systems"]
CITY = ["Berlin", "London", "Paris", "Madrid", "Milan", "Amsterdam", "Zurich", "Vienna",
        "Warsaw", "Dublin", "Lisbon", "Tokyo", "Mumbai", "Toronto", "Austin", "Oslo"]


class Values:
    """Value generators; `holdout` selects the holdout's extra formats."""

    def __init__(self, rng: Random, holdout: bool):
        self.r = rng
        self.holdout = holdout
        self.seen: dict[str, int] = {}

    def pick(self, name: str, forms: list, extra: list):
        """A random form; in the holdout set its own forms (`extra`) first come once each, so
        every format the tuning set lacks is there whatever the draws."""
        seen = self.seen.get(name, 0)
        if self.holdout and seen < len(extra):
            self.seen[name] = seen + 1
            return extra[seen]
        return self.r.choice(forms + extra if self.holdout else forms)

    def digits(self, n: int, first: str = "0123456789") -> str:
        return self.r.choice(first) + "".join(self.r.choice(string.digits) for _ in range(n - 1))

    def chars(self, alphabet: str, n: int) -> str:
        return "".join(self.r.choice(alphabet) for _ in range(n))

    # ---- email --------------------------------------------------------------------------

    def email(self) -> str:
        r = self.r
        f, l = r.choice(FIRST), r.choice(LAST)
        dom_t = ["example.com", "example.org", "example.net", "acme.com", "gmail.com",
                 "outlook.com", "proton.me", "company.io", "mail.example.co.uk",
                 "corp.example.de", "eu.mail.example.com", "students.example.edu"]
        dom_h = ["yahoo.co.jp", "web.de", "example.com.au", "uni-heidelberg.de",
                 "dept.cs.example.edu", "globex-industries.technology", "acme-widgets.co.uk",
                 "mail.example.fr", "example.museum", "sub.domain.example.io"]
        dom = r.choice(dom_h if self.holdout else dom_t)
        forms = [
            lambda: f"{f}.{l}@{dom}",
            lambda: f"{f}{l}@{dom}",
            lambda: f"{f}_{l}{r.randint(1, 99)}@{dom}",
            lambda: f"{f[0]}{l}@{dom}",
            lambda: f"{f}+{r.choice(['news', 'shop', 'github', 'spam', 'work2024'])}@{dom}",
            lambda: f"{f.capitalize()}.{l.capitalize()}@{dom.upper() if r.random() < .5 else dom}",
            lambda: f"{f.upper()}@{dom.upper()}",
            lambda: f"{f}.{l}+{r.choice(['billing', 'test', 'x'])}@{dom}",
        ]
        extra = [
            lambda: f"{f}-{l}@{dom}",
            lambda: f"{r.randint(1970, 2005)}.{f}@{dom}",
            lambda: f"{f}.{r.choice('abcdefghjkmnprstw')}.{l}@{dom}",
            lambda: f"{f}.o'{l}@{dom}",
            lambda: f"{f.upper()}.{l.upper()}@{dom}",
        ]
        return self.pick("email", forms, extra)()

    # ---- phone --------------------------------------------------------------------------

    def us_parts(self) -> tuple[str, str, str]:
        return (self.r.choice(NANP_AREAS), self.digits(3, "23456789"), self.digits(4))

    def phone(self) -> str:
        r = self.r
        a, b, c = self.us_parts()
        d = self.digits
        forms = [
            # E.164
            lambda: f"+1{a}{b}{c}",
            lambda: r.choice([f"+4420{d(8, '378')}", f"+447{d(9, '4579')}"]),
            lambda: f"+49{r.choice(DE_MOBILE)}{d(8)}",
            # international with separators
            lambda: f"+1 ({a}) {b}-{c}",
            lambda: f"+1 {a}-{b}-{c}",
            lambda: f"+1 {a} {b} {c}",
            lambda: f"+44 20 {d(4, '378')} {d(4)}",
            lambda: f"+44 7{d(3, '4579')} {d(6)}",
            lambda: f"+49 30 {d(8, '123456789')}",
            lambda: f"+49 {r.choice(DE_MOBILE)} {d(4)} {d(4)}",
            lambda: f"+49-89-{d(7, '123456789')}",
            lambda: f"+33 {r.choice('1234567')} {d(2, '123456789')} {d(2)} {d(2)} {d(2)}",
            lambda: f"+33-6-{d(2, '123456789')}-{d(2)}-{d(2)}-{d(2)}",
            lambda: f"+91 {d(5, '6789')} {d(5)}",
            lambda: f"+91-{d(5, '6789')}-{d(5)}",
            lambda: f"+81 3-{d(4)}-{d(4)}",
            lambda: f"+81 90-{d(4, '123456789')}-{d(4)}",
            lambda: f"+81 (3) {d(4)}-{d(4)}",
            # 00 prefix
            lambda: f"0044 20 {d(4, '378')} {d(4)}",
            lambda: f"0049 {r.choice(['30', '40', '69', '89'])} {d(7, '123456789')}",
            lambda: f"0033 {r.choice('123456')} {d(2, '123456789')} {d(2)} {d(2)} {d(2)}",
            # North American
            lambda: f"({a}) {b}-{c}",
            lambda: f"{a}-{b}-{c}",
            lambda: f"{a}.{b}.{c}",
            lambda: f"{a} {b} {c}",
            # national with a trunk 0
            lambda: f"020 {d(4, '378')} {d(4)}",
            lambda: f"0161 {d(3, '2345678')} {d(4)}",
            lambda: f"030 {d(8, '123456789')}",
            lambda: f"030-{d(7, '123456789')}",
            lambda: f"089/{d(7, '123456789')}",
            lambda: f"0{r.choice(DE_MOBILE)} {d(7)}",
            lambda: f"0{r.choice('1234567')} {d(2, '123456789')} {d(2)} {d(2)} {d(2)}",
            lambda: f"03-{d(4)}-{d(4)}",
            lambda: f"06-{d(4)}-{d(4)}",
        ]
        extra = [
            lambda: f"+44 (0)20 {d(4, '378')} {d(4)}",
            lambda: f"+49 (0)30 {d(4, '123456789')} {d(4)}",
            lambda: f"1-{r.choice(['800', '888', '877'])}-{b}-{c}",
            lambda: f"1 ({a}) {b}-{c}",
            lambda: f"0{r.choice('1234567')}.{d(2, '123456789')}.{d(2)}.{d(2)}.{d(2)}",
            lambda: f"+1.{a}.{b}.{c}",
            lambda: f"07{d(3, '4579')} {d(6)}",
            lambda: f"090-{d(4, '123456789')}-{d(4)}",
            lambda: f"+61 2 {d(4, '3456789')} {d(4)}",
            lambda: f"+55 11 9{d(4)}-{d(4)}",
            lambda: f"+86 13{d(1)} {d(4)} {d(4)}",
            lambda: f"+34 {d(3, '6')} {d(3)} {d(3)}",
            lambda: f"+39 02 {d(4)} {d(4)}",
        ]
        return self.pick("phone", forms, extra)()

    # ---- credit card --------------------------------------------------------------------

    def card(self) -> str:
        r = self.r
        kinds = [
            ("visa", lambda: "4" + self.digits(14), "4444"),
            ("visa", lambda: "4" + self.digits(14), "4444"),
            ("mc", lambda: str(r.randint(51, 55)) + self.digits(13), "4444"),
            ("mc2", lambda: str(r.randint(2221, 2720)) + self.digits(11), "4444"),
            ("amex", lambda: r.choice(["34", "37"]) + self.digits(12), "465"),
            ("discover", lambda: "6011" + self.digits(11), "4444"),
            ("discover", lambda: "65" + self.digits(13), "4444"),
            ("discover", lambda: str(r.randint(644, 649)) + self.digits(12), "4444"),
        ]
        extra = [
            ("jcb", lambda: str(r.randint(3528, 3589)) + self.digits(11), "4444"),
            ("diners", lambda: "36" + self.digits(11), "464"),
            ("unionpay", lambda: "62" + self.digits(13), "4444"),
            ("visa13", lambda: "4" + self.digits(11), "flat"),
        ]
        _, gen, groups = self.pick("card", kinds, extra)
        number = luhn_complete(gen())
        sep = r.choice([" ", " ", "-", ""])
        if groups == "flat" or sep == "":
            return number
        out, i = [], 0
        for g in groups:
            out.append(number[i:i + int(g)])
            i += int(g)
        return sep.join(out)

    # ---- IBAN ---------------------------------------------------------------------------

    def iban_compact(self, country: str) -> str:
        bban = ""
        for count, kind in re.findall(r"(\d+)([nac])", IBAN_SPECS[country]):
            alphabet = {"n": string.digits, "a": string.ascii_uppercase, "c": UPPER_ALNUM}[kind]
            bban += self.chars(alphabet, int(count))
        check = 98 - iban_numeric(bban + country + "00") % 97
        iban = f"{country}{check:02d}{bban}"
        assert iban_ok(iban), iban
        return iban

    def iban(self) -> str:
        country = self.r.choice(IBAN_HOLDOUT if self.holdout else IBAN_TUNING)
        compact = self.iban_compact(country)
        if self.r.random() < 0.6:
            return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))
        return compact

    # ---- US SSN -------------------------------------------------------------------------

    def ssn(self) -> str:
        r = self.r
        while True:
            area, group, serial = r.randint(1, 899), r.randint(1, 99), r.randint(1, 9999)
            if ssn_ok(area, group, serial):
                break
        sep = r.choice(["-"] * 5 + [" "])
        # The holdout has a few 9-digit SSNs (its SSN templates all say it is one): two, then 4 %.
        if self.holdout:
            self.seen["ssn"] = self.seen.get("ssn", 0) + 1
            if self.seen["ssn"] <= 2 or r.random() < 0.04:
                sep = ""
        return f"{area:03d}{sep}{group:02d}{sep}{serial:04d}"

    # ---- IP -----------------------------------------------------------------------------

    def ipv4(self) -> str:
        r = self.r
        forms = [
            lambda: f"10.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}",
            lambda: f"192.168.{r.randint(0, 255)}.{r.randint(1, 254)}",
            lambda: f"172.{r.randint(16, 31)}.{r.randint(0, 255)}.{r.randint(1, 254)}",
            lambda: f"203.0.113.{r.randint(1, 254)}",
            lambda: f"198.51.100.{r.randint(1, 254)}",
            lambda: f"{r.randint(11, 223)}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}",
            lambda: "127.0.0.1",
            lambda: f"8.8.{r.choice(['8.8', '4.4'])}",
        ]
        return r.choice(forms)()

    def ipv6(self) -> str:
        r = self.r
        groups = [0x2001, 0x0DB8] + [r.choice([0, 0, r.randint(1, 0xFFFF)]) for _ in range(6)]
        addr = ipaddress.IPv6Address(sum(g << (16 * (7 - i)) for i, g in enumerate(groups)))
        forms = [
            lambda: addr.exploded,
            lambda: addr.compressed,
            lambda: "::1",
            lambda: f"fe80::{r.randint(1, 0xFFFF):x}:{r.randint(1, 0xFFFF):x}:{r.randint(1, 0xFFFF):x}:{r.randint(1, 0xFFFF):x}",
            lambda: f"2001:db8::{r.randint(1, 0xFFFF):x}",
        ]
        extra = [
            lambda: addr.compressed.upper(),
            lambda: f"::ffff:192.0.2.{r.randint(1, 254)}",
            lambda: f"2606:4700:4700::{r.choice(['1111', '1001', '64'])}",
        ]
        return self.pick("ipv6", forms, extra)()

    def ip(self) -> str:
        return self.ipv4() if self.r.random() < 0.55 else self.ipv6()

    # ---- API keys -----------------------------------------------------------------------

    def api_key(self) -> str:
        r = self.r
        c = self.chars
        forms = [
            lambda: f"sk-{c(ALNUM, 20)}T3BlbkFJ{c(ALNUM, 20)}",
            lambda: f"sk-proj-{c(URLSAFE, 74)}T3BlbkFJ{c(URLSAFE, 74)}",
            lambda: f"sk-ant-api03-{c(URLSAFE, 93)}AA",
            lambda: f"AKIA{c(string.ascii_uppercase + '234567', 16)}",
            lambda: f"ASIA{c(string.ascii_uppercase + '234567', 16)}",
            lambda: f"ghp_{c(ALNUM, 36)}",
            lambda: f"github_pat_11{c(UPPER_ALNUM, 20)}_{c(ALNUM, 59)}",
            lambda: f"xoxb-{self.digits(12, '123456789')}-{self.digits(13, '123456789')}-{c(ALNUM, 24)}",
            lambda: f"xoxp-{self.digits(12, '123456789')}-{self.digits(12, '123456789')}-{self.digits(13, '123456789')}-{c('0123456789abcdef', 32)}",
            lambda: f"AIza{c(URLSAFE, 35)}",
            lambda: f"sk_live_{c(ALNUM, 24)}",
            lambda: f"sk_live_51{c(ALNUM, 97)}",
        ]
        extra = [
            lambda: f"sk-svcacct-{c(URLSAFE, 74)}T3BlbkFJ{c(URLSAFE, 74)}",
            lambda: f"sk-ant-admin01-{c(URLSAFE, 93)}AA",
            lambda: f"gho_{c(ALNUM, 36)}",
            lambda: f"ghs_{c(ALNUM, 36)}",
            lambda: f"rk_live_{c(ALNUM, 24)}",
            lambda: f"xapp-1-A{c(UPPER_ALNUM, 10)}-{self.digits(13, '123456789')}-{c('0123456789abcdef', 64)}",
        ]
        return self.pick("api_key", forms, extra)()

    # ---- JWT ----------------------------------------------------------------------------

    def jwt(self) -> str:
        r = self.r

        def b64(raw: bytes) -> str:
            return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

        def seg(obj: dict) -> str:
            return b64(json.dumps(obj, separators=(",", ":")).encode())

        alg, sig_len = r.choice([("HS256", 32), ("RS256", 256), ("ES256", 64), ("HS512", 64)])
        header = {"alg": alg, "typ": "JWT"}
        if alg != "HS256" and r.random() < 0.5:
            header["kid"] = self.chars(ALNUM, 16)
        if self.holdout and r.random() < 0.3:
            header = {"typ": "at+jwt", "alg": alg, "kid": self.chars("0123456789abcdef", 40)}
        iat = r.randint(1_600_000_000, 1_760_000_000)
        payload = r.choice([
            {"sub": self.digits(10), "name": r.choice(DISPLAY), "iat": iat},
            {"iss": "https://auth.example.com/", "sub": f"auth0|{self.chars('0123456789abcdef', 24)}",
             "aud": "api://default", "iat": iat, "exp": iat + 3600, "scope": "openid profile email"},
            {"user_id": r.randint(1, 10**6), "role": r.choice(["admin", "user", "viewer"]), "exp": iat + 900},
        ])
        sig = bytes(r.getrandbits(8) for _ in range(sig_len))
        return f"{seg(header)}.{seg(payload)}.{b64(sig)}"


# --------------------------------------------------------------------------------------------
# Fillers (never PII)
# --------------------------------------------------------------------------------------------


def filler(v: Values, name: str) -> str:
    r = v.r
    if name == "name":
        return r.choice(DISPLAY)
    if name == "first":
        return r.choice(DISPLAY).split()[0]
    if name == "company":
        return r.choice(COMPANY)
    if name == "city":
        return r.choice(CITY)
    if name == "date":
        y, m, d = r.randint(2019, 2026), r.randint(1, 12), r.randint(1, 28)
        return r.choice([f"{y}-{m:02d}-{d:02d}", f"{d:02d}/{m:02d}/{y}", f"{d}.{m}.{y}",
                         f"{['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][m - 1]} {d}, {y}"])
    if name == "ts":
        return (f"{r.randint(2023, 2026)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}"
                f"T{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}Z")
    if name == "time":
        return f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d}"
    if name == "order":
        return r.choice([f"#A-{v.digits(6)}", f"ORD-{v.digits(8)}", v.digits(10, "123456789")])
    if name == "amount":
        return r.choice([f"${r.randint(1, 2000)}.{r.randint(0, 99):02d}",
                         f"€{r.randint(1, 999)},{r.randint(0, 99):02d}",
                         f"£{r.randint(1, 9)},{r.randint(100, 999)}.00"])
    if name == "n":
        return str(r.randint(2, 99))
    if name == "uuid":
        return "%08x-%04x-4%03x-%04x-%012x" % (r.getrandbits(32), r.getrandbits(16), r.getrandbits(12),
                                               0x8000 | r.getrandbits(14), r.getrandbits(48))
    if name == "hex":
        return "%040x" % r.getrandbits(160)
    if name == "ver":
        return f"{r.randint(0, 4)}.{r.randint(0, 30)}.{r.randint(0, 12)}"
    if name == "port":
        return str(r.choice([22, 443, 5432, 6379, 8080, 8443, 9090]))
    raise KeyError(name)


PII_SLOTS = {"email": "email", "phone": "phone", "card": "credit_card", "iban": "iban",
             "ssn": "us_ssn", "ip": "ip_address", "ipv4": "ip_address", "ipv6": "ip_address",
             "key": "api_key", "jwt": "jwt"}


def render(v: Values, template: str) -> dict:
    expect = []

    def fill(m: re.Match) -> str:
        slot = m.group(1)
        if slot in PII_SLOTS:
            value = {"email": v.email, "phone": v.phone, "card": v.card, "iban": v.iban,
                     "ssn": v.ssn, "ip": v.ip, "ipv4": v.ipv4, "ipv6": v.ipv6,
                     "key": v.api_key, "jwt": v.jwt}[slot]()
            expect.append({"kind": PII_SLOTS[slot], "value": value})
            return value
        return filler(v, slot)

    text = SLOT.sub(fill, template)
    for e in expect:
        assert e["value"] in text
    return {"text": text, "expect": expect}


# --------------------------------------------------------------------------------------------
# Templates. Tuning and holdout share none.
# --------------------------------------------------------------------------------------------

TUNING = {
    "email": [
        "Please send the signed contract to {{email}} by Friday.",
        "Hi {{first}}, my new address is {{email}} — the old one bounces.",
        '{"id": 4812, "name": "{{name}}", "email": "{{email}}", "active": true}',
        "From: {{name}} <{{email}}>\nSubject: Re: invoice {{order}}",
        "2024-03-02T10:15:22Z INFO auth: login ok user={{email}} method=password",
        "Contact: {{email}}",
        "user_email = '{{email}}'  # TODO: move to config",
        "cc {{email}}, {{email}}",
        "Can you forward this to {{email}}? Thanks!",
        "| {{name}} | {{email}} | {{city}} |",
    ],
    "phone": [
        "You can reach me on {{phone}} after 6pm.",
        "Call our support line at {{phone}} (Mon–Fri, 9–17).",
        '{"customer": "{{name}}", "phone": "{{phone}}", "city": "{{city}}"}',
        "Tel: {{phone}}",
        "If the delivery is late, ring {{phone}} and quote order {{order}}.",
        "phone_number: \"{{phone}}\"",
        "My mobile is {{phone}}, text me when you're outside.",
        "Emergency contact: {{name}}, {{phone}}",
        "WARN sms: delivery failed to={{phone}} code=30003",
    ],
    "credit_card": [
        "My card number is {{card}}, expiry next March.",
        "Please charge {{amount}} to card {{card}} for order {{order}}.",
        '{"payment": {"pan": "{{card}}", "holder": "{{name}}"}}',
        "card={{card}}&amount=1999&currency=EUR",
        "The customer read out {{card}} over the phone.",
        "Card: {{card}}",
        "ERROR payments: declined pan={{card}} reason=insufficient_funds",
    ],
    "iban": [
        "Please transfer the deposit to IBAN {{iban}} (account holder {{name}}).",
        "Bank details: {{iban}}, {{company}}",
        '{"iban": "{{iban}}", "currency": "EUR"}',
        "IBAN: {{iban}}",
        "Refunds go to {{iban}} within 14 days.",
        "Überweisung bitte an {{iban}}, Verwendungszweck {{order}}.",
        "iban,{{iban}},{{amount}}",
    ],
    "us_ssn": [
        "My social security number is {{ssn}}.",
        "SSN: {{ssn}}",
        '{"ssn": "{{ssn}}", "dob": "{{date}}"}',
        "Applicant {{name}}, SSN {{ssn}}, requested a credit check.",
        "Employee record: {{name}} / {{ssn}} / hired {{date}}",
        "Please verify the SSN {{ssn}} against the W-2.",
    ],
    "ip_address": [
        "The request came from {{ip}} at {{time}}.",
        "{{ts}} WARN sshd: Failed password for root from {{ip}} port 51234",
        '{"client_ip": "{{ip}}", "status": 403}',
        "Set DB_HOST={{ipv4}} and restart.",
        "ping {{ip}}",
        "Blocked {{ip}} after 5 failed logins.",
        "upstream {{ipv4}}:{{port}} timed out",
        "The server listens on {{ipv6}}, not on the IPv4 address.",
        "X-Forwarded-For: {{ipv4}}, {{ipv4}}",
    ],
    "api_key": [
        "export OPENAI_API_KEY={{key}}",
        "Here's my key, please debug: {{key}}",
        'client = Client(api_key="{{key}}")',
        '{"api_key": "{{key}}", "model": "gpt-4o"}',
        "Authorization: Bearer {{key}}",
        "Oops, I committed {{key}} to the repo yesterday.",
        "aws_access_key_id = {{key}}",
        "token: {{key}}",
    ],
    "jwt": [
        "Authorization: Bearer {{jwt}}",
        '{"access_token": "{{jwt}}", "token_type": "Bearer", "expires_in": 3600}',
        "Set-Cookie: session={{jwt}}; Path=/; HttpOnly; Secure",
        "curl -H 'Authorization: Bearer {{jwt}}' https://api.example.com/v1/me",
        "Why does this token fail? {{jwt}}",
        "{{ts}} DEBUG gateway: token={{jwt}} verified=false",
    ],
    "mixed": [
        "Name: {{name}}\nEmail: {{email}}\nPhone: {{phone}}\nSSN: {{ssn}}",
        '{"user": {"email": "{{email}}", "phone": "{{phone}}"}, "card": "{{card}}"}',
        "{{name}} ({{email}}) logged in from {{ip}}.",
        "Wire {{amount}} to {{iban}} and email the receipt to {{email}}.",
        "Config dump: OPENAI_API_KEY={{key}} DB_HOST={{ipv4}} ADMIN={{email}}",
        "Callback {{phone}} re card ending; full number {{card}}.",
        "Bearer {{jwt}} from {{ip}}",
    ],
}

HOLDOUT = {
    "email": [
        "Our new sales lead is {{name}}; write to {{email}} for quotes.",
        "mailto:{{email}}",
        "<a href=\"mailto:{{email}}\">Email us</a>",
        "git config user.email \"{{email}}\"",
        "Reply-To: {{email}}",
        "Registered users: {{email}}; {{email}}; {{email}}",
        "DEBUG smtp: RCPT TO:<{{email}}> accepted",
    ],
    "phone": [
        "Ring the front desk on {{phone}} if the door is locked.",
        "Mobile ({{city}} office): {{phone}}",
        "<td>{{name}}</td><td>{{phone}}</td>",
        "customer_phone={{phone}}&consent=true",
        "Für Rückfragen: {{phone}}.",
        "Pour toute question, appelez le {{phone}}.",
        "Please call me back at {{phone}} — it's urgent.",
    ],
    "credit_card": [
        "Pay with {{card}}, exp 08/27, CVC on the back.",
        "Kreditkarte: {{card}}",
        "<input name=\"cc\" value=\"{{card}}\">",
        "INSERT INTO payments (pan, amount) VALUES ('{{card}}', 42.00);",
        "Here is the card I used: {{card}}. Can you refund it?",
    ],
    "iban": [
        "Kontonummer (IBAN) {{iban}}, BIC bitte nachreichen.",
        "Virement vers {{iban}} effectué le {{date}}.",
        "beneficiary_iban: {{iban}}",
        "Please update my payout account to {{iban}}.",
        "<iban>{{iban}}</iban>",
    ],
    "us_ssn": [
        "The form asks for the SSN ({{ssn}}) and the date of birth.",
        "ssn={{ssn}}&state=TX",
        "Taxpayer {{name}} — social: {{ssn}}",
        "Employee file: {{name}}, SSN {{ssn}}, start date {{date}}.",
        "Her Social Security number, {{ssn}}, was on the letter.",
    ],
    "ip_address": [
        "Whitelisted addresses: {{ip}} and {{ip}}.",
        "nginx: connect() failed (111: Connection refused) while connecting to upstream, client: {{ipv4}}",
        "Server at [{{ipv6}}]:{{port}} is unreachable.",
        "curl http://{{ipv4}}:{{port}}/health",
        "The attacker used {{ip}} — please add it to the deny list.",
        "host: {{ip}}",
    ],
    "api_key": [
        "I pasted my key by mistake: {{key}} — please rotate it.",
        "headers = {\"x-api-key\": \"{{key}}\"}",
        "ANTHROPIC_API_KEY=\"{{key}}\" python app.py",
        "- name: API_TOKEN\n  value: {{key}}",
        "Use {{key}} for the staging environment.",
    ],
    "jwt": [
        "id_token={{jwt}}&state=af0ifjsldkj",
        "localStorage.setItem('token', '{{jwt}}');",
        "The refresh token {{jwt}} expired.",
        "grpc-metadata authorization: Bearer {{jwt}}",
    ],
    "mixed": [
        "Ticket #{{n}}: customer {{name}}, {{email}}, {{phone}}, card {{card}}.",
        "Payroll: {{name}}, SSN {{ssn}}, IBAN {{iban}}.",
        "Audit: key {{key}} used from {{ip}} by {{email}}.",
        "login {{email}} ip={{ip}} token={{jwt}}",
    ],
}

# Negatives: text a reader would not call personal data or a secret of these kinds.
NEG_TUNING = [
    "The meeting is moved to {{date}} at {{time}}; bring the quarterly numbers.",
    "Version {{ver}} fixes the memory leak reported in issue #4821.",
    "Windows 10 build 10.0.19045 is the last feature update.",
    "use std::collections::HashMap;\nlet v: std::vec::Vec<u8> = Vec::with_capacity(1024);",
    "std::vector<int> v; v.push_back(42); a::b::c();",
    "See https://docs.rs/regex/1.10.2/regex/struct.Regex.html for the API.",
    "commit {{hex}}\nAuthor: build bot",
    "request_id={{uuid}} status=200 duration_ms={{n}}",
    "Order #A-{{n}}8812 shipped on {{date}}.",
    "Your order {{order}} has been dispatched.",
    "Total: {{amount}} incl. VAT.",
    "The population of the city was 8 336 817 at the last census.",
    "Dates: 2024-01-15, 15/01/2024 and 2024 01 15 all mean the same day.",
    "The job ran from 12:30:45 to 13:02:10.",
    "Tracking reference 4539 1488 0343 6468 is not a card number.",
    "Account ref DE89 3704 0044 0532 0130 01 failed validation.",
    "Test value 000-12-3456 is never issued.",
    "666-12-3456 is not a valid SSN.",
    "The form rejects 912-34-5678 because 9xx areas are not SSNs.",
    "ISBN 978-3-16-148410-0 is the reference edition.",
    "It costs $1,299.99 or €1.149,00 in Europe.",
    "The ratio was 3.14159 and the error 1e-9.",
    "Sprint {{n}}: close tickets 1021, 1022 and 1040.",
    "Run `cargo test -p modelplug-core` and then `make lint`.",
    "The quick brown fox jumps over the lazy dog.",
    "We expect about 12 000 visitors and 350 exhibitors this year.",
    "Flight LH 2024 departs at {{time}} from gate B{{n}}.",
    "def add(a, b):\n    return a + b",
    "SELECT id, created_at FROM orders WHERE total > 100 ORDER BY id DESC LIMIT 50;",
    "The temperature dropped to -12.5 °C overnight.",
    "Chapter 3.2.1 explains the retry policy.",
    "Invoice INV-2024-00071 is due in 30 days.",
    "Call me later, I'm in a meeting.",
    "She moved to {{city}} in 2019 and works at {{company}}.",
    "Kubernetes pod api-7d9f8b6c5d-x2x9k restarted 3 times.",
    "The hash is sha256:{{hex}}.",
    "Product code 4006381333931 (EAN-13) is out of stock.",
    "Latitude 48.8584, longitude 2.2945.",
    "The GPU has 24 GB of memory and a 384-bit bus.",
    "Patch 1.2.3 and 1.2.4 were released the same week.",
    "Set the timeout to 30000 ms and retries to 5.",
    "import numpy as np\nx = np.zeros((1024, 768))",
    "Room 101, building 7, floor 3.",
    "Error code 0x80070005: access denied.",
    "The file is 1 048 576 bytes long.",
    "Score: 98.6 / 100",
    "Meeting ID: 845 2231 9087",
    "Our fiscal year 2023/24 closed with revenue of 1.2 bn.",
    "Use the Vec::<T>::new() constructor, not vec![].",
    "Build 2024.01.15.1 passed all checks.",
]

NEG_HOLDOUT = [
    "Lunch with the team on {{date}}, table for {{n}}.",
    "Release notes for {{ver}}: faster startup and fewer allocations.",
    "Ubuntu 22.04.3 LTS ships kernel 6.2.0-37.",
    "impl<T: Clone> From<&[T]> for Vec<T> { fn from(s: &[T]) -> Self { s.to_vec() } }",
    "namespace foo::bar { class Baz; }",
    "Download from https://github.com/rust-lang/rust/releases/tag/1.75.0 today.",
    "Digest: {{hex}}",
    "trace_id={{uuid}} span=db.query",
    "Order no. {{order}} — thank you for shopping with {{company}}.",
    "Your parcel {{order}} will arrive tomorrow.",
    "Sale price {{amount}}, was {{amount}}.",
    "Paris had 2 102 650 inhabitants in 2023.",
    "Deadline: 31.12.2024, 23:59.",
    "Uptime 03:12:44, load average 0.42, 0.38, 0.35.",
    "Reference number 5500 0000 0000 0005 must not be reused.",
    "Old account GB82 WEST 1234 5698 7654 33 was closed.",
    "Placeholder 123-00-4567 in the sample data.",
    "Example SSN 078-05-0000 has a zero serial.",
    "ISBN-13: 9780306406157",
    "MAC address 00:1A:2B:3C:4D:5E belongs to the printer.",
    "OID 1.3.6.1.4.1.2021.10.1.3.1 reports the load.",
    "The river is 1 233 km long and drains 185 000 km².",
    "npm install lodash@4.17.21 react@18.2.0",
    "Temperature: 21.5°C, humidity: 43%, pressure: 1013 hPa.",
    "Section 2.4 covers retries; section 2.5 covers timeouts.",
    "Tickets cost 45 EUR; 1 200 were sold in 3 hours.",
    "The model has 7 000 000 000 parameters.",
    "for (int i = 0; i < 10; ++i) { sum += i; }",
    "He finished the marathon in 3:41:07.",
    "PR #10234 bumps serde from 1.0.195 to 1.0.196.",
    "The SKU is 9783161484100-BLK-XL.",
    "The answer is 42.",
    "See RFC 7519 section 7.2 for validating a token.",
    "Bus line 142 leaves every 12 minutes.",
    "UPS tracking 1Z999AA10123456784 delivered.",
]


def dataset(seed: int, holdout: bool, per_kind: int, mixed: int, negatives: int,
            near_misses: int) -> list[dict]:
    rng = Random(seed)
    v = Values(rng, holdout)
    templates = HOLDOUT if holdout else TUNING
    neg = NEG_HOLDOUT if holdout else NEG_TUNING
    rows = []
    for kind in KINDS:
        for _ in range(per_kind):
            rows.append(render(v, rng.choice(templates[kind])))
    for _ in range(mixed):
        rows.append(render(v, rng.choice(templates["mixed"])))
    # every negative template once, then more draws of those with slots (they differ)
    for t in neg:
        rows.append(render(v, t))
    varying = [t for t in neg if SLOT.search(t)]
    for _ in range(negatives - len(neg)):
        rows.append(render(v, rng.choice(varying)))
    # generated negatives: near-misses of each checked format
    for _ in range(near_misses):
        rows.append(near_miss(v))
    for row in rows:
        assert not SLOT.search(row["text"]), row
    rng.shuffle(rows)
    return rows


def near_miss(v: Values) -> dict:
    """A value that fails its check (Luhn, mod-97, SSN ranges), in a neutral sentence."""
    r = v.r
    which = r.choice(["card", "iban", "ssn", "ipv4"])
    if which == "card":
        good = luhn_complete("4" + v.digits(14))
        bad = good[:-1] + str((int(good[-1]) + r.randint(1, 9)) % 10)
        assert not luhn_ok(bad)
        value = " ".join(bad[i:i + 4] for i in range(0, 16, 4)) if r.random() < .5 else bad
        return {"text": f"Reference {value} (not a valid card number).", "expect": []}
    if which == "iban":
        good = v.iban_compact(r.choice(IBAN_TUNING))
        i = r.randint(4, len(good) - 1)
        while True:
            c = r.choice(string.digits) if good[i].isdigit() else r.choice(string.ascii_uppercase)
            bad = good[:i] + c + good[i + 1:]
            if not iban_ok(bad):
                break
        return {"text": f"Account code {bad} was rejected by the bank (checksum).", "expect": []}
    if which == "ssn":
        area = r.choice([0, 666, r.randint(900, 999)])
        value = f"{area:03d}-{r.randint(1, 99):02d}-{r.randint(1, 9999):04d}"
        return {"text": f"Case file {value} is an internal number.", "expect": []}
    value = f"{r.randint(1, 9)}.{r.randint(0, 20)}.{r.randint(0, 20)}"
    return {"text": f"Upgrade to {value} before {filler(v, 'date')}.", "expect": []}


def check_handwritten() -> int:
    path = HERE / "handwritten.jsonl"
    n = 0
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        for e in row["expect"]:
            assert e["kind"] in KINDS, (i, e)
            assert e["value"] in row["text"], (i, e)
            value = e["value"]
            if e["kind"] == "credit_card":
                assert luhn_ok(re.sub(r"\D", "", value)), (i, value)
            if e["kind"] == "iban":
                assert iban_ok(value), (i, value)
        n += 1
    return n


def write(path: Path, rows: list[dict], check: bool) -> bool:
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    if check:
        return path.exists() and path.read_text(encoding="utf-8") == text
    path.write_text(text, encoding="utf-8")
    return True


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="compare with the committed files")
    args = ap.parse_args()
    tuning = dataset(seed=20241, holdout=False, per_kind=55, mixed=45, negatives=90, near_misses=40)
    holdout = dataset(seed=99173, holdout=True, per_kind=26, mixed=20, negatives=50, near_misses=18)
    hand = check_handwritten()
    ok = write(HERE / "tuning.jsonl", tuning, args.check) & write(HERE / "holdout.jsonl", holdout, args.check)
    for name, rows in [("tuning", tuning), ("holdout", holdout)]:
        pos = sum(1 for r in rows if r["expect"])
        counts = {k: sum(1 for r in rows for e in r["expect"] if e["kind"] == k) for k in KINDS}
        print(f"{name}: {len(rows)} texts ({pos} positive, {len(rows) - pos} negative); values {counts}",
              file=sys.stderr)
    print(f"handwritten: {hand} texts", file=sys.stderr)
    if not ok:
        print("the committed corpus differs from the generator's output", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
