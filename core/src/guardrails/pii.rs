//! Personal data and secrets in text: each kind a linear-time regex for candidates, and a
//! check where the format has one (Luhn for cards, mod-97 and the country's length for IBANs,
//! the issued ranges for US SSNs, the address grammar for IPs). One [`regex::RegexSet`] pass
//! tells which kinds can occur at all, so ordinary prose costs one scan.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::{Regex, RegexSet};

/// A kind of personal data or secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PiiKind {
    /// An email address.
    Email,
    /// A phone number (international `+` and `00` forms, North American and national forms
    /// with separators).
    Phone,
    /// A payment card number (Luhn-valid, a known issuer prefix, 13–19 digits).
    CreditCard,
    /// An IBAN (the country's length, mod-97).
    Iban,
    /// A US social security number (`123-45-6789`, issued ranges only).
    UsSsn,
    /// An IPv4 or IPv6 address.
    IpAddress,
    /// An API key or secret with a well-known prefix (OpenAI, Anthropic, AWS, GitHub, Slack,
    /// Google, Stripe) or a private-key block.
    ApiKey,
    /// A JSON Web Token.
    Jwt,
}

impl PiiKind {
    /// Every kind.
    pub const ALL: [PiiKind; 8] = [
        PiiKind::Email,
        PiiKind::Phone,
        PiiKind::CreditCard,
        PiiKind::Iban,
        PiiKind::UsSsn,
        PiiKind::IpAddress,
        PiiKind::ApiKey,
        PiiKind::Jwt,
    ];

    /// The config name (`email`, `phone`, `credit_card`, `iban`, `us_ssn`, `ip_address`,
    /// `api_key`, `jwt`).
    pub fn as_str(self) -> &'static str {
        match self {
            PiiKind::Email => "email",
            PiiKind::Phone => "phone",
            PiiKind::CreditCard => "credit_card",
            PiiKind::Iban => "iban",
            PiiKind::UsSsn => "us_ssn",
            PiiKind::IpAddress => "ip_address",
            PiiKind::ApiKey => "api_key",
            PiiKind::Jwt => "jwt",
        }
    }

    /// The kind of a config name.
    pub fn parse(s: &str) -> Option<PiiKind> {
        PiiKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// What a redacted match becomes (`[EMAIL]`, `[CREDIT_CARD]`, …).
    pub fn placeholder(self) -> &'static str {
        match self {
            PiiKind::Email => "[EMAIL]",
            PiiKind::Phone => "[PHONE]",
            PiiKind::CreditCard => "[CREDIT_CARD]",
            PiiKind::Iban => "[IBAN]",
            PiiKind::UsSsn => "[US_SSN]",
            PiiKind::IpAddress => "[IP_ADDRESS]",
            PiiKind::ApiKey => "[API_KEY]",
            PiiKind::Jwt => "[JWT]",
        }
    }
}

/// One match: its kind and byte span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PiiMatch {
    /// What it is.
    pub kind: PiiKind,
    /// Where it starts (byte offset).
    pub start: usize,
    /// Where it ends (byte offset, exclusive).
    pub end: usize,
}

/// A recognizer: the kind, its candidate pattern and the check a candidate must pass.
struct Recognizer {
    kind: PiiKind,
    pattern: &'static str,
    /// Takes the whole text and the candidate's span; the span to report, if any.
    check: fn(&str, usize, usize) -> Option<(usize, usize)>,
    /// Candidates are short (digit groups): after a rejected one, look again from its next
    /// character. Unbounded ones (tokens) resume after the candidate, so scans stay linear.
    retry_inside: bool,
}

// Patterns are ASCII-only (`(?-u)`): the formats are, and it keeps every pattern on the
// lazy DFA (Unicode word boundaries and wide bounded repeats would push the regex engine onto
// its slower NFA simulation). Unbounded repeats where a format has no useful bound, for the
// same reason; the checks bound what they accept.
const RECOGNIZERS: &[Recognizer] = &[
    Recognizer {
        kind: PiiKind::ApiKey,
        pattern: concat!(
            r"(?-u)(?:\b(?:sk-ant-(?:api|admin)\d\d-[A-Za-z0-9_\-]{20,}",
            r"|sk-(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_\-]{20,}",
            r"|(?:AKIA|ASIA|ABIA|ACCA|AROA|AIDA)[0-9A-Z]{16}",
            r"|(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,}",
            r"|github_pat_[A-Za-z0-9_]{22,}",
            r"|xox[abposr]-[A-Za-z0-9\-]{10,}",
            r"|AIza[0-9A-Za-z_\-]{35}",
            r"|ya29\.[0-9A-Za-z_\-]{20,}",
            r"|(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,})",
            r"|https://hooks\.slack\.com/services/[A-Za-z0-9/]{20,}",
            // An AWS secret access key is 40 base64 characters: only after its own name.
            r"|(?i:aws_secret_access_key|aws_secret_key|secret_access_key)[ \t]*[=:][ \t]*[\x22']?[A-Za-z0-9/+]{40}\b",
            r"|-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----)"
        ),
        check: api_key,
        retry_inside: false,
    },
    Recognizer {
        kind: PiiKind::Jwt,
        pattern: r"(?-u)\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{16,}",
        check: token_end,
        retry_inside: false,
    },
    Recognizer {
        kind: PiiKind::Email,
        pattern: r"(?i-u)[a-z0-9][a-z0-9._%+\-']*@[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?)*\.[a-z]{2,24}\b",
        check: email,
        retry_inside: false,
    },
    Recognizer {
        kind: PiiKind::Iban,
        pattern: r"(?i-u)\b[A-Z]{2}\d\d[ \-]?[A-Z0-9][A-Z0-9 \-]{9,40}[A-Z0-9]\b",
        check: iban,
        retry_inside: true,
    },
    Recognizer {
        kind: PiiKind::CreditCard,
        pattern: r"(?-u)\b\d(?:[ \-]?\d){12,18}\b",
        check: credit_card,
        retry_inside: true,
    },
    Recognizer {
        kind: PiiKind::UsSsn,
        pattern: r"(?-u)\b\d{3}[\- ]\d\d[\- ]\d{4}\b",
        check: us_ssn,
        retry_inside: true,
    },
    Recognizer {
        kind: PiiKind::Phone,
        pattern: concat!(
            // +CC, then groups; 00CC with separated groups (a bare 00… is an id).
            r"(?-u)\+[1-9]\d{0,2}(?:[ .\-]?\(?\d{1,5}\)?){2,7}\b",
            r"|\b00[1-9]\d{0,2}(?:[ .\-]\(?\d{1,5}\)?){2,7}\b",
            // North American: (555) 123-4567, 555-123-4567, 555.123.4567, 555 123 4567.
            r"|(?:\(\d{3}\)[ .\-]?|\b\d{3}[ .\-])\d{3}[ .\-]\d{4}\b",
            // National with a trunk 0: 020 7946 0958, 030-1234567, 06 12 34 56 78.
            r"|\b0\d{1,4}(?:[ \-/]\d{2,8}){1,4}\b"
        ),
        check: phone,
        retry_inside: true,
    },
    Recognizer {
        kind: PiiKind::IpAddress,
        pattern: concat!(
            r"(?-u)\b(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}\b",
            r"|(?i:(?:[0-9a-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9a-f]{1,4})?(?:%[0-9a-z]+)?)"
        ),
        check: ip_address,
        retry_inside: true,
    },
];

struct Compiled {
    /// The recognizers without a literal prefix of their own, in one set: one pass (from
    /// the first character that can begin any of them) tells which can match at all.
    set: RegexSet,
    /// For each pattern of `set`, its recognizer.
    set_owners: Vec<usize>,
    each: Vec<Regex>,
}

/// Recognizers whose pattern starts with literals (the regex engine skips to them itself).
fn has_literal_prefix(kind: PiiKind) -> bool {
    matches!(kind, PiiKind::ApiKey | PiiKind::Jwt)
}

static COMPILED: LazyLock<Compiled> = LazyLock::new(|| {
    let patterns: Vec<&str> = RECOGNIZERS.iter().map(|r| r.pattern).collect();
    let (set_patterns, set_owners): (Vec<&str>, Vec<usize>) = RECOGNIZERS
        .iter()
        .enumerate()
        .filter(|(_, r)| !has_literal_prefix(r.kind))
        .map(|(i, r)| (r.pattern, i))
        .unzip();
    Compiled {
        set: RegexSet::new(&set_patterns).expect("the PII patterns compile"),
        set_owners,
        each: patterns
            .iter()
            .map(|p| Regex::new(p).expect("a PII pattern compiles"))
            .collect(),
    }
});

/// Where in a text each kind could first begin: every format but keys and tokens needs an
/// `@` or a digit (IPv6 a colon), so prose is skipped up to the first of those.
struct Triggers {
    at: Option<usize>,
    digit: Option<usize>,
    colon: Option<usize>,
}

impl Triggers {
    fn of(text: &str) -> Triggers {
        let b = text.as_bytes();
        Triggers {
            at: memchr::memchr(b'@', b),
            digit: b.iter().position(u8::is_ascii_digit),
            colon: memchr::memchr(b':', b),
        }
    }

    /// Where recognizer `kind`'s search starts (`None`: it cannot match).
    fn start(&self, text: &str, kind: PiiKind) -> Option<usize> {
        let back = |p: Option<usize>, n: usize| p.map(|p| p.saturating_sub(n));
        let start = match kind {
            PiiKind::ApiKey | PiiKind::Jwt => Some(0),
            // The local part before the `@` is at most 64 characters.
            PiiKind::Email => back(self.at, 70),
            // Two letters before the check digits; `+`, `(` or `00` before a phone's digits.
            PiiKind::Iban | PiiKind::Phone => back(self.digit, 4),
            PiiKind::CreditCard | PiiKind::UsSsn => self.digit,
            // Up to four hex letters before an IPv6 address's first colon.
            PiiKind::IpAddress => match (self.digit, back(self.colon, 5)) {
                (Some(d), Some(c)) => Some(d.min(c)),
                (d, c) => d.or(c),
            },
        }?;
        let mut start = start.min(text.len());
        while !text.is_char_boundary(start) {
            start -= 1;
        }
        Some(start)
    }
}

/// Every match of the `kinds` in `text` (all kinds when `kinds` is empty), in order of start;
/// overlapping matches are resolved in favour of the earlier-listed, more specific recognizer
/// (a key before a phone number inside it).
pub fn find(text: &str, kinds: &[PiiKind]) -> Vec<PiiMatch> {
    let mut out = Vec::new();
    find_into(text, kinds, &mut out);
    out
}

/// [`find`], appending to `out`.
pub fn find_into(text: &str, kinds: &[PiiKind], out: &mut Vec<PiiMatch>) {
    let c = &*COMPILED;
    let triggers = Triggers::of(text);
    let set_start = c
        .set_owners
        .iter()
        .filter_map(|&i| triggers.start(text, RECOGNIZERS[i].kind))
        .min();
    let in_set = set_start.map(|from| c.set.matches_at(text, from));
    // Spans taken so far, by start: an overlap check is one lookup.
    let mut taken: BTreeMap<usize, usize> = BTreeMap::new();
    let overlaps = |taken: &BTreeMap<usize, usize>, start: usize, end: usize| {
        taken.range(..end).next_back().is_some_and(|(_, &e)| e > start)
    };
    for (i, r) in RECOGNIZERS.iter().enumerate() {
        if !kinds.is_empty() && !kinds.contains(&r.kind) {
            continue;
        }
        let listed = c.set_owners.iter().position(|&o| o == i);
        if listed.is_some_and(|k| !in_set.as_ref().is_some_and(|m| m.matched(k))) {
            continue;
        }
        let Some(mut pos) = triggers.start(text, r.kind) else {
            continue;
        };
        while let Some(m) = c.each[i].find_at(text, pos) {
            match (r.check)(text, m.start(), m.end()) {
                Some((start, end)) => {
                    if !overlaps(&taken, start, end) {
                        taken.insert(start, end);
                        out.push(PiiMatch {
                            kind: r.kind,
                            start,
                            end,
                        });
                    }
                    pos = end.max(m.start() + 1);
                }
                // A rejected candidate may hide a real one starting inside it (a card
                // number after a stray digit): look again from its next character.
                None if r.retry_inside => {
                    pos = m.start() + text[m.start()..].chars().next().map_or(1, char::len_utf8)
                }
                None => pos = m.end().max(m.start() + 1),
            }
            if pos >= text.len() {
                break;
            }
        }
    }
    out.sort_by_key(|m| m.start);
}

fn before(text: &str, at: usize) -> Option<char> {
    text[..at].chars().next_back()
}

fn after(text: &str, at: usize) -> Option<char> {
    text[at..].chars().next()
}

/// The longest private-key block reported as one match.
const MOST_KEY_BLOCK: usize = 16 * 1024;

/// Keys: a token not glued to a word before it; a private-key header extends to the end of
/// its block (or, if the block never ends, as far as a key block can go).
fn api_key(text: &str, start: usize, end: usize) -> Option<(usize, usize)> {
    let s = &text[start..end];
    if s.len() > 40 && s[..3].eq_ignore_ascii_case("aws") || s[..6].eq_ignore_ascii_case("secret") {
        // `aws_secret_access_key = VALUE`: the value only.
        return Some((end - 40, end));
    }
    if let Some(body) = s.strip_prefix("sk-")
        && !["ant-", "proj-", "svcacct-", "admin-", "None-"]
            .iter()
            .any(|p| body.starts_with(p))
    {
        // A bare `sk-` key is random: mixed case and digits (not a URL slug `sk-hynix-…`).
        let has = |f: fn(&char) -> bool| body.chars().any(|c| f(&c));
        if !(has(char::is_ascii_digit) && has(char::is_ascii_lowercase) && has(char::is_ascii_uppercase)) {
            return None;
        }
    }
    if !s.starts_with("-----BEGIN") {
        return token_end(text, start, end);
    }
    let rest = &text[end..];
    let limit = floor_boundary(rest, MOST_KEY_BLOCK);
    let block_end = rest[..limit]
        .find("-----END")
        .and_then(|e| rest[e + 8..].find("-----").map(|f| e + 8 + f + 5))
        .unwrap_or(limit);
    Some((start, end + block_end))
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Tokens (keys, JWTs) must not run on into more token characters.
fn token_end(text: &str, start: usize, end: usize) -> Option<(usize, usize)> {
    let glued = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    (!glued(before(text, start))).then_some((start, end))
}

fn email(text: &str, start: usize, end: usize) -> Option<(usize, usize)> {
    // No local part glued to a preceding word character or dot.
    if before(text, start)
        .is_some_and(|c| c.is_alphanumeric() || c == '.' || c == '_' || c == '+' || c == '-')
    {
        return None;
    }
    let (local, domain) = text[start..end].split_once('@')?;
    if local.contains("..") || local.ends_with('.') {
        return None;
    }
    // A file name (`logo@2x.png`), and an SSH remote (`git@github.com:org/repo.git`).
    let tld = domain.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    if FILE_EXTENSIONS.contains(&tld.as_str()) {
        return None;
    }
    if after(text, end) == Some(':')
        && text[end + 1..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '/' || c == '~')
    {
        return None;
    }
    Some((start, end))
}

/// Endings of file names that look like an address's top-level domain.
const FILE_EXTENSIONS: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "pdf", "css", "js", "mjs", "ts", "json", "txt",
];

fn digits(s: &str) -> impl Iterator<Item = u32> + '_ {
    s.chars().filter_map(|c| c.to_digit(10))
}

/// Numbers glued to other number characters (`1.5`, `12/31`) are part of something else.
fn loose_number(text: &str, start: usize, end: usize) -> bool {
    let joined = |c: Option<char>, next: Option<char>| {
        matches!(c, Some('.' | ',' | '/' | ':')) && next.is_some_and(|n| n.is_ascii_digit())
    };
    let b = before(text, start);
    let bb = b.and_then(|c| before(text, start - c.len_utf8()));
    let a = after(text, end);
    let aa = a.and_then(|c| after(text, end + c.len_utf8()));
    !(joined(b, bb) || joined(a, aa) || b.is_some_and(|c| c.is_ascii_digit() || c == '-'))
}

/// `check` on the candidate, then on it without its last digit groups, one at a time (a card
/// number followed by an expiry `12/27`, a phone number followed by `24/7`).
fn shrinking(
    text: &str,
    start: usize,
    end: usize,
    check: fn(&str, usize, usize) -> Option<(usize, usize)>,
) -> Option<(usize, usize)> {
    let mut end = end;
    loop {
        if let Some(found) = check(text, start, end) {
            return Some(found);
        }
        let cut = text[start..end].rfind([' ', '-', '.'])?;
        end = start + text[start..start + cut].trim_end_matches([' ', '-', '.']).len();
        if end <= start {
            return None;
        }
    }
}

fn credit_card(text: &str, start: usize, end: usize) -> Option<(usize, usize)> {
    shrinking(text, start, end, card_number)
}

fn card_number(text: &str, start: usize, end: usize) -> Option<(usize, usize)> {
    let s = &text[start..end];
    // After a `+` it is a phone number (`+49 170 2398 4538` passes Luhn).
    if before(text, start) == Some('+') {
        return None;
    }
    // One kind of separator at most.
    if s.contains(' ') && s.contains('-') {
        return None;
    }
    let ds: Vec<u32> = digits(s).collect();
    if !(13..=19).contains(&ds.len()) || !loose_number(text, start, end) {
        return None;
    }
    let n = ds.len();
    let two: u32 = ds[0] * 10 + ds[1];
    let three: u32 = two * 10 + ds[2];
    let four: u32 = three * 10 + ds[3];
    // Issuer prefixes with the lengths they issue.
    let issuer = match () {
        _ if ds[0] == 4 => matches!(n, 13 | 16 | 19),
        _ if (51..=55).contains(&two) || (2221..=2720).contains(&four) => n == 16,
        _ if two == 34 || two == 37 => n == 15,
        _ if four == 6011 || two == 65 || (644..=649).contains(&three) => (16..=19).contains(&n),
        _ if two == 35 || two == 62 => (16..=19).contains(&n),
        _ if two == 36 || two == 38 || (300..=305).contains(&three) => (14..=19).contains(&n),
        _ => false,
    };
    (issuer && luhn(&ds)).then_some((start, end))
}

/// The Luhn checksum over `ds`.
pub fn luhn(ds: &[u32]) -> bool {
    let sum: u32 = ds
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// IBAN lengths by country (ISO 13616 registry).
const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AD", 24),
    ("AE", 23),
    ("AL", 28),
    ("AT", 20),
    ("AZ", 28),
    ("BA", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("BR", 29),
    ("BY", 28),
    ("CH", 21),
    ("CR", 22),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DK", 18),
    ("DO", 28),
    ("EE", 20),
    ("EG", 29),
    ("ES", 24),
    ("FI", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GE", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("GT", 28),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IQ", 23),
    ("IS", 26),
    ("IT", 27),
    ("JO", 30),
    ("KW", 30),
    ("KZ", 20),
    ("LB", 28),
    ("LC", 32),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("MC", 27),
    ("MD", 24),
    ("ME", 22),
    ("MK", 19),
    ("MR", 27),
    ("MT", 31),
    ("MU", 30),
    ("NL", 18),
    ("NO", 15),
    ("PK", 24),
    ("PL", 28),
    ("PS", 29),
    ("PT", 25),
    ("QA", 29),
    ("RO", 24),
    ("RS", 22),
    ("SA", 24),
    ("SC", 31),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("ST", 25),
    ("SV", 28),
    ("TL", 23),
    ("TN", 24),
    ("TR", 26),
    ("UA", 29),
    ("VA", 22),
    ("VG", 24),
    ("XK", 20),
];

fn iban(text: &str, start: usize, end: usize) -> Option<(usize, usize)> {
    let compact: String = text[start..end]
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let want = IBAN_LENGTHS.iter().find(|(cc, _)| compact.starts_with(cc))?.1;
    // The candidate may run on into following words: try the country's length.
    let mut taken = 0;
    let mut cut = start;
    for (i, c) in text[start..end].char_indices() {
        if c.is_ascii_alphanumeric() {
            taken += 1;
            if taken == want {
                cut = start + i + 1;
                break;
            }
        }
    }
    if taken != want || after(text, cut).is_some_and(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    let iban = &compact[..want];
    iban_mod97(iban).then_some((start, cut))
}

/// The IBAN check: the number with its first four characters moved to the end, letters as
/// 10–35, is 1 modulo 97.
pub fn iban_mod97(iban: &str) -> bool {
    let rearranged = iban[4..].chars().chain(iban[..4].chars());
    let mut rem: u32 = 0;
    for c in rearranged {
        let v = match c.to_digit(36) {
            Some(v) => v,
            None => return false,
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

fn us_ssn(text: &str, start: usize, end: usize) -> Option<(usize, usize)> {
    let s = &text[start..end];
    let sep: Vec<char> = s.chars().filter(|c| !c.is_ascii_digit()).collect();
    if sep.len() != 2 || sep[0] != sep[1] || !loose_number(text, start, end) {
        return None;
    }
    let ds: Vec<u32> = digits(s).collect();
    let area = ds[0] * 100 + ds[1] * 10 + ds[2];
    let group = ds[3] * 10 + ds[4];
    let serial = ds[5..].iter().fold(0, |a, d| a * 10 + d);
    let valid = area != 0 && area != 666 && area < 900 && group != 0 && serial != 0;
    valid.then_some((start, end))
}

fn phone(text: &str, start: usize, end: usize) -> Option<(usize, usize)> {
    shrinking(text, start, end, phone_number)
}

fn phone_number(text: &str, start: usize, end: usize) -> Option<(usize, usize)> {
    let s = &text[start..end];
    let n = digits(s).count();
    let international = s.starts_with('+') || s.starts_with("00");
    let ok_len = if international {
        (8..=15).contains(&(n - usize::from(s.starts_with("00")) * 2))
    } else {
        (9..=12).contains(&n)
    };
    if !ok_len || !loose_number(text, start, end) {
        return None;
    }
    // The tail of a longer run of digit groups (an account number) is not a phone number.
    let b = before(text, start);
    if b.is_some_and(|c| c == ' ' || c == '-')
        && before(text, start - 1).is_some_and(|c| c.is_ascii_alphanumeric())
    {
        let run_before = text[..start - 1].rsplit(' ').next().unwrap_or("");
        if !run_before.is_empty()
            && run_before.chars().all(|c| c.is_ascii_alphanumeric())
            && run_before.chars().any(|c| c.is_ascii_digit())
        {
            return None;
        }
    }
    // Dates: 2024-01-15, 2024 01 15 (not a UK 0161 624 3250).
    let groups: Vec<&str> = s
        .split(|c: char| !c.is_ascii_digit())
        .filter(|g| !g.is_empty())
        .collect();
    let year = |g: &str| g.len() == 4 && (g.starts_with('1') || g.starts_with('2'));
    if !international && groups.len() == 3 && year(groups[0]) && groups[1..].iter().all(|g| g.len() <= 2) {
        return None;
    }
    // Balanced parentheses.
    if s.matches('(').count() != s.matches(')').count() {
        return None;
    }
    Some((start, end))
}

fn ip_address(text: &str, start: usize, end: usize) -> Option<(usize, usize)> {
    let s = &text[start..end];
    if s.contains(':') {
        // IPv6: must parse (a time `12:30:45` does not), hold some digits, not glue to a word.
        let core = s.split('%').next().unwrap_or(s);
        let addr = [core, core.trim_end_matches(':')]
            .into_iter()
            .find(|c| c.parse::<std::net::Ipv6Addr>().is_ok())?;
        // Code (`db::add`, `cafe::beef`) has no decimal digit; a path goes on into a name.
        if !addr.contains(|c: char| c.is_ascii_digit()) {
            return None;
        }
        if addr.chars().filter(char::is_ascii_hexdigit).count() < 3 && addr != "::1" {
            return None;
        }
        if before(text, start).is_some_and(|c| c.is_ascii_alphanumeric() || c == ':') {
            return None;
        }
        if after(text, start + addr.len()).is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '(')
        {
            return None;
        }
        let len = if addr.len() == core.len() {
            s.len()
        } else {
            addr.len()
        };
        return Some((start, start + len));
    }
    // IPv4: not a part of a longer dotted number (a version `1.2.3.4.5`).
    let glued =
        |c: Option<char>, next: Option<char>| c == Some('.') && next.is_some_and(|n| n.is_ascii_digit());
    let b = before(text, start);
    let bb = b.and_then(|c| before(text, start - c.len_utf8()));
    let a = after(text, end);
    let aa = a.and_then(|c| after(text, end + c.len_utf8()));
    if glued(b, bb) || glued(a, aa) {
        return None;
    }
    // A version or a section number (`AssemblyVersion("1.0.0.0")`, `section 5.1.2.3`).
    let lead = text[..start].trim_end_matches(['"', '\'', '(', ' ', ':', '=']);
    let lead = &lead[floor_boundary(lead, lead.len().saturating_sub(16))..];
    let lead = lead.to_ascii_lowercase();
    if [
        "version", "section", "§", "chapter", "rule", "clause", "ver", "release",
    ]
    .iter()
    .any(|w| lead.ends_with(w))
    {
        return None;
    }
    Some((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(PiiKind, &str)> {
        find(text, &[])
            .into_iter()
            .map(|m| (m.kind, &text[m.start..m.end]))
            .collect()
    }

    #[test]
    fn each_kind_is_found_with_its_checks() {
        assert_eq!(
            kinds("mail bob.smith+x@example.co.uk now"),
            [(PiiKind::Email, "bob.smith+x@example.co.uk")]
        );
        assert_eq!(
            kinds("card 4111 1111 1111 1111."),
            [(PiiKind::CreditCard, "4111 1111 1111 1111")]
        );
        assert!(kinds("card 4111 1111 1111 1112.").is_empty(), "fails Luhn");
        assert_eq!(
            kinds("IBAN DE89 3704 0044 0532 0130 00 ok"),
            [(PiiKind::Iban, "DE89 3704 0044 0532 0130 00")]
        );
        assert!(
            kinds("IBAN DE89 3704 0044 0532 0130 01 ok").is_empty(),
            "fails mod-97: {:?}",
            kinds("IBAN DE89 3704 0044 0532 0130 01 ok")
        );
        assert_eq!(kinds("ssn 123-45-6789"), [(PiiKind::UsSsn, "123-45-6789")]);
        assert!(kinds("ssn 666-45-6789").is_empty());
        assert_eq!(
            kinds("call +44 20 7946 0958 today"),
            [(PiiKind::Phone, "+44 20 7946 0958")]
        );
        assert_eq!(kinds("call (555) 123-4567"), [(PiiKind::Phone, "(555) 123-4567")]);
        assert_eq!(
            kinds("host 192.168.0.1 up"),
            [(PiiKind::IpAddress, "192.168.0.1")]
        );
        assert_eq!(
            kinds("v6 2001:db8::8a2e:370:7334 up"),
            [(PiiKind::IpAddress, "2001:db8::8a2e:370:7334")]
        );
        assert!(kinds("at 12:30:45 on 2024-01-15, version 1.2.3.4.5").is_empty());
        assert_eq!(
            kinds("key AKIAIOSFODNN7EXAMPLE x"),
            [(PiiKind::ApiKey, "AKIAIOSFODNN7EXAMPLE")]
        );
        assert_eq!(
            kinds("tok sk-proj-abcdefghijklmnopqrstuvwxyz0123 x"),
            [(PiiKind::ApiKey, "sk-proj-abcdefghijklmnopqrstuvwxyz0123")]
        );
        let jwt =
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        assert_eq!(kinds(&format!("bearer {jwt}")), [(PiiKind::Jwt, jwt)]);
    }

    #[test]
    fn checksums() {
        assert!(luhn(&[4, 2, 4, 2, 4, 2, 4, 2, 4, 2, 4, 2, 4, 2, 4, 2]));
        assert!(iban_mod97("GB82WEST12345698765432"));
        assert!(!iban_mod97("GB82WEST12345698765433"));
    }
}
