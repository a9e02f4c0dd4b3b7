//! Deny topics: phrases matched as whole words after Unicode normalisation (NFKC, lower case,
//! accents removed) and light English stemming (`advising` ≈ `advise`, `lawyers` ≈ `lawyer`),
//! with the configured synonyms. One Aho-Corasick pass over the text finds where a phrase's
//! first word could start; only there are words compared.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// A compiled list of phrases.
#[derive(Debug, Clone)]
pub struct TopicMatcher {
    /// Each phrase as word stems (a stem may have synonyms: any of them matches).
    phrases: Vec<Vec<Vec<String>>>,
    /// Finds where a phrase's first word may begin (its stem's common prefix, on lower-cased
    /// text; leftmost-longest, so the automaton's prefilter applies).
    starts: AhoCorasick,
    /// The phrases by the stem of their first word (and its synonyms).
    by_first: HashMap<String, Vec<usize>>,
    /// The most words in a phrase.
    longest: usize,
}

/// A topic found: which phrase, and the byte span in the original text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopicMatch {
    /// Index of the phrase in the configured list.
    pub phrase: usize,
    /// Where it starts.
    pub start: usize,
    /// Where it ends.
    pub end: usize,
}

impl TopicMatcher {
    /// Compiles `topics`, with `synonyms` (a word, and the words that count as it).
    pub fn new(topics: &[String], synonyms: &[(String, Vec<String>)]) -> Result<TopicMatcher, String> {
        let mut alternatives: HashMap<String, Vec<String>> = HashMap::new();
        for (word, others) in synonyms {
            let mut group: Vec<String> = std::iter::once(word)
                .chain(others)
                .map(|w| stem(&normalize_word(w)))
                .collect();
            group.sort();
            group.dedup();
            for w in &group {
                let entry = alternatives.entry(w.clone()).or_default();
                entry.extend(group.iter().cloned());
                entry.sort();
                entry.dedup();
            }
        }
        let mut phrases = Vec::with_capacity(topics.len());
        for topic in topics {
            let words: Vec<Vec<String>> = words(topic)
                .map(|(s, e)| {
                    let st = stem(&normalize_word(&topic[s..e]));
                    alternatives.get(&st).cloned().unwrap_or_else(|| vec![st])
                })
                .collect();
            if words.is_empty() {
                return Err(format!("the topic `{topic}` has no words"));
            }
            phrases.push(words);
        }
        let mut patterns: Vec<String> = Vec::new();
        let mut by_first: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, p) in phrases.iter().enumerate() {
            for stem in &p[0] {
                by_first.entry(stem.clone()).or_default().push(i);
                // What every form of the word starts with (`party` for `parties`: `part`).
                let first = match stem.strip_suffix('y') {
                    Some(s) if s.len() >= 3 => s.to_owned(),
                    _ => stem.clone(),
                };
                if !patterns.contains(&first) {
                    patterns.push(first);
                }
            }
        }
        let starts = AhoCorasickBuilder::new()
            .kind(Some(AhoCorasickKind::DFA))
            .match_kind(MatchKind::LeftmostLongest)
            .build(&patterns)
            .map_err(|e| format!("the topics cannot be compiled: {e}"))?;
        let longest = phrases.iter().map(Vec::len).max().unwrap_or(1);
        Ok(TopicMatcher {
            phrases,
            starts,
            by_first,
            longest,
        })
    }

    /// The most words in one phrase.
    pub fn longest_phrase(&self) -> usize {
        self.longest
    }

    /// Every phrase found in `text`, in order, not overlapping.
    pub fn find(&self, text: &str) -> Vec<TopicMatch> {
        if text.is_ascii() {
            self.find_normalized(&text.to_ascii_lowercase(), None)
        } else {
            let (normalized, map) = normalize_text(text);
            self.find_normalized(&normalized, Some(&map))
        }
    }

    /// Where the longest suffix of `text` that could still grow into a phrase starts (a stream
    /// holds text from there back): the start of the earliest trailing word run that is a
    /// prefix of some phrase, or of the last word if it is unfinished.
    pub fn hold_from(&self, text: &str) -> usize {
        let tail: Vec<(usize, usize)> = {
            let mut v: Vec<(usize, usize)> = words_rev(text).take(self.longest).collect();
            v.reverse();
            v
        };
        let ends_in_word = text.chars().next_back().is_some_and(char::is_alphanumeric);
        for (i, &(s, e)) in tail.iter().enumerate() {
            let run = &tail[i..];
            if self.may_begin_phrase(&text[s..e], ends_in_word && run.len() == 1)
                && self.prefix_of_phrase(text, run, ends_in_word)
            {
                return s;
            }
        }
        text.len()
    }

    /// Whether `word` can be a phrase's first word (`open`: it may still grow). Most words of
    /// a stream's tail fail here, before any phrase is compared.
    fn may_begin_phrase(&self, word: &str, open: bool) -> bool {
        let raw = normalize_word(word);
        if self.by_first.contains_key(&stem(&raw)) {
            return true;
        }
        open && self
            .by_first
            .keys()
            .any(|first| first.starts_with(&raw) || raw.starts_with(first.as_str()))
    }

    fn prefix_of_phrase(&self, text: &str, run: &[(usize, usize)], last_open: bool) -> bool {
        let stems: Vec<String> = run
            .iter()
            .map(|&(s, e)| stem(&normalize_word(&text[s..e])))
            .collect();
        self.phrases.iter().any(|p| {
            stems.len() <= p.len()
                && stems.iter().enumerate().all(|(i, st)| {
                    let open = last_open && i + 1 == stems.len();
                    p[i].iter().any(|alt| {
                        if open {
                            // An unfinished word: any word it could still become.
                            let raw = normalize_word(&text[run[i].0..run[i].1]);
                            alt.starts_with(&raw) || raw.starts_with(alt.as_str()) || alt == st
                        } else {
                            alt == st
                        }
                    })
                })
        })
    }

    /// The phrases in `text` (lower-cased and normalised); `map` takes its offsets back to the
    /// original text's.
    fn find_normalized(&self, text: &str, map: Option<&[usize]>) -> Vec<TopicMatch> {
        let mut out: Vec<TopicMatch> = Vec::new();
        let mut next_free = 0;
        for hit in self.starts.find_iter(text) {
            let at = hit.start();
            if at < next_free || text[..at].chars().next_back().is_some_and(char::is_alphanumeric) {
                continue;
            }
            let Some((s, e)) = words(&text[at..]).next() else {
                continue;
            };
            let Some(candidates) = self.by_first.get(&stem(&text[at + s..at + e])) else {
                continue;
            };
            let mut best: Option<(usize, usize)> = None;
            for &pi in candidates {
                if let Some(end) = self.phrase_at(text, at, pi)
                    && best.is_none_or(|(_, e)| end > e)
                {
                    best = Some((pi, end));
                }
            }
            if let Some((phrase, end)) = best {
                let to_original = |i: usize| map.map_or(i, |m| m[i]);
                out.push(TopicMatch {
                    phrase,
                    start: to_original(at),
                    end: to_original(end),
                });
                next_free = end;
            }
        }
        out
    }

    /// The end of phrase `pi` if its words start at `at` in `text`.
    fn phrase_at(&self, text: &str, at: usize, pi: usize) -> Option<usize> {
        let phrase = &self.phrases[pi];
        let mut it = words(&text[at..]);
        let mut end = at;
        for alternatives in phrase {
            let (s, e) = it.next()?;
            let st = stem(&normalize_word(&text[at + s..at + e]));
            if !alternatives.contains(&st) {
                return None;
            }
            end = at + e;
        }
        Some(end)
    }
}

/// The byte spans of the words (runs of letters and digits, with inner apostrophes) in `s`.
fn words(s: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut chars = s.char_indices().peekable();
    std::iter::from_fn(move || {
        let (start, _) = chars.by_ref().find(|(_, c)| c.is_alphanumeric())?;
        let mut end = s.len();
        while let Some(&(i, c)) = chars.peek() {
            if c.is_alphanumeric()
                || is_combining_mark(c)
                || (c == '\'' && s[i + 1..].starts_with(char::is_alphanumeric))
            {
                chars.next();
            } else {
                end = i;
                break;
            }
        }
        Some((start, end))
    })
}

/// The words of `s` from the end.
fn words_rev(s: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let all: Vec<(usize, usize)> = words(s).collect();
    all.into_iter().rev()
}

/// A word in lower case, NFKC, without accents.
fn normalize_word(w: &str) -> String {
    if w.is_ascii() {
        return w.to_ascii_lowercase();
    }
    w.nfkd()
        .filter(|c| !is_combining_mark(*c))
        .collect::<String>()
        .nfkc()
        .flat_map(char::to_lowercase)
        .collect()
}

/// `text` normalised like words are, with the original byte offset of every normalised byte
/// (and of the end).
fn normalize_text(text: &str) -> (String, Vec<usize>) {
    let mut out = String::with_capacity(text.len());
    let mut map = Vec::with_capacity(text.len() + 1);
    for (i, c) in text.char_indices() {
        let mut buf = [0u8; 4];
        for n in normalize_word(c.encode_utf8(&mut buf)).chars() {
            out.push(n);
            map.extend(std::iter::repeat_n(i, n.len_utf8()));
        }
    }
    map.push(text.len());
    (out, map)
}

/// A light English stemmer: plural and verb endings off, a final `e` off, so `advise`,
/// `advising` and `advised` meet, as do `advice` and `advices`, `party` and `parties`.
fn stem(word: &str) -> String {
    let mut w = word.trim_end_matches("'s").to_owned();
    let n = w.chars().count();
    if n > 4 && w.ends_with("ies") {
        w.truncate(w.len() - 3);
        w.push('y');
    } else if n > 4
        && (w.ends_with("sses") || w.ends_with("xes") || w.ends_with("ches") || w.ends_with("shes"))
    {
        w.truncate(w.len() - 2);
    } else if n > 5 && w.ends_with("ing") {
        w.truncate(w.len() - 3);
    } else if n > 4 && w.ends_with("ed") {
        w.truncate(w.len() - 2);
    } else if n > 3 && w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") && !w.ends_with("is") {
        w.truncate(w.len() - 1);
    }
    if w.chars().count() > 3 && w.ends_with('e') {
        w.truncate(w.len() - 1);
    }
    // Doubled consonants left by -ing/-ed (`betting` → `bett` → `bet`).
    let b = w.as_bytes();
    if b.len() > 3 && b[b.len() - 1] == b[b.len() - 2] && !b"aeiouls".contains(&b[b.len() - 1]) {
        w.truncate(w.len() - 1);
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(topics: &[&str]) -> TopicMatcher {
        let t: Vec<String> = topics.iter().map(|s| s.to_string()).collect();
        TopicMatcher::new(&t, &[("lawyer".into(), vec!["attorney".into()])]).unwrap()
    }

    #[test]
    fn whole_words_case_unicode_and_stems() {
        let t = m(&["legal advice", "betting"]);
        let found = |s: &str| {
            t.find(s)
                .iter()
                .map(|x| s[x.start..x.end].to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(found("I need LEGAL   Advice now"), ["LEGAL   Advice"]);
        assert_eq!(found("any legal advices?"), ["legal advices"]);
        let verb = m(&["advise on taxes"]);
        assert_eq!(
            verb.find("she advised on tax matters, advising on taxes").len(),
            2
        );
        assert_eq!(found("Légal ADVICE"), ["Légal ADVICE"]);
        assert_eq!(found("sports bets and betting"), ["bets", "betting"]);
        assert!(found("illegal advice").is_empty(), "whole words only");
        assert!(found("paralegal advice").is_empty());
    }

    #[test]
    fn synonyms_count() {
        let t = m(&["ask a lawyer"]);
        assert_eq!(t.find("please ask an attorney").len(), 0, "`a` ≠ `an`");
        assert_eq!(t.find("ask a attorney").len(), 1);
    }

    #[test]
    fn a_stream_holds_back_only_a_possible_phrase_start() {
        let t = m(&["legal advice"]);
        assert_eq!(t.hold_from("hello there "), "hello there ".len());
        assert_eq!(t.hold_from("some legal "), 5);
        assert_eq!(
            t.hold_from("some leg"),
            5,
            "an unfinished word that could become `legal`"
        );
        assert_eq!(t.hold_from("some legal adv"), 5);
    }
}
