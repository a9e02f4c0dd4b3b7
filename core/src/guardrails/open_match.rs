//! Where a match could still be under way at the end of a streamed text: the earliest start
//! from which a pattern's DFA (the lazy DFA the `regex` crate itself uses) has not died by the
//! end. A stream holds text back from there only — for ordinary prose, nothing or the last
//! word — instead of a fixed window the length of the longest possible match.

use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::util::start;
use regex_automata::{Anchored, Input};

/// A pattern compiled for the open-match question.
#[derive(Debug)]
pub(crate) struct OpenMatch {
    dfa: DFA,
    /// Bytes a match can begin with (whatever precedes it): other positions are skipped.
    can_start: [bool; 256],
}

impl OpenMatch {
    /// `None` when the pattern cannot be built as a DFA (the caller holds a fixed window).
    pub(crate) fn new(pattern: &str) -> Option<OpenMatch> {
        let dfa = DFA::builder()
            .configure(DFA::config().unicode_word_boundary(true))
            .build(pattern)
            .ok()?;
        let mut cache = dfa.create_cache();
        let mut can_start = [false; 256];
        for look_behind in [None, Some(b'a'), Some(b' '), Some(b'\n')] {
            let config = start::Config::new()
                .anchored(Anchored::Yes)
                .look_behind(look_behind);
            let Ok(s) = dfa.start_state(&mut cache, &config) else {
                can_start = [true; 256];
                break;
            };
            for b in 0..=255u8 {
                if !matches!(dfa.next_state(&mut cache, s, b), Ok(n) if n.is_dead()) {
                    can_start[usize::from(b)] = true;
                }
            }
        }
        Some(OpenMatch { dfa, can_start })
    }

    /// The earliest position at or after `from` where a match could begin that the end of
    /// `text` has not finished (still growing, or complete but possibly longer): `text.len()`
    /// when there is none. When the DFA cannot tell (it gave up on a byte), it says "open".
    /// `cache` is the reader's (made on first need).
    pub(crate) fn open_from(&self, cache: &mut Option<Cache>, text: &str, from: usize) -> usize {
        let bytes = text.as_bytes();
        for p in from..bytes.len() {
            if !self.can_start[usize::from(bytes[p])] || !text.is_char_boundary(p) {
                continue;
            }
            let cache = cache.get_or_insert_with(|| self.dfa.create_cache());
            let input = Input::new(text).range(p..).anchored(Anchored::Yes);
            let Ok(mut sid) = self.dfa.start_state_forward(cache, &input) else {
                return p;
            };
            let mut dead = false;
            for &b in &bytes[p..] {
                match self.dfa.next_state(cache, sid, b) {
                    Ok(n) if n.is_dead() => {
                        dead = true;
                        break;
                    }
                    Ok(n) if !n.is_quit() => sid = n,
                    _ => break,
                }
            }
            if !dead {
                return p;
            }
        }
        bytes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_possible_start_is_open() {
        let m = OpenMatch::new(r"TCK-\d{6}").unwrap();
        let mut c = None;
        assert_eq!(m.open_from(&mut c, "hello world ", 0), 12);
        assert_eq!(m.open_from(&mut c, "see TC", 0), 4);
        assert_eq!(m.open_from(&mut c, "see TCK-12", 0), 4);
        assert_eq!(m.open_from(&mut c, "see TCX", 0), 7);
        assert_eq!(
            m.open_from(&mut c, "see TCK-123456 ok", 0),
            17,
            "a finished match is not open"
        );
        let w = OpenMatch::new(r"(?i)\bproject\s+falcon\b").unwrap();
        let mut c = None;
        assert_eq!(w.open_from(&mut c, "our project  ", 0), 4);
        assert_eq!(w.open_from(&mut c, "our projector", 0), 13);
    }
}
