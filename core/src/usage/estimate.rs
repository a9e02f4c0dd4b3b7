//! Token estimates, for when a provider's count is not available (the mock provider's
//! answers, a stream cut short before its usage report).

/// Roughly how many tokens `text` is: four characters a token, at least one for non-empty
/// text. Good to within tens of percent for English; never used where a provider reported.
pub fn estimate_tokens(text: &str) -> u64 {
    let chars = text.chars().count() as u64;
    chars.div_ceil(4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_characters_a_token() {
        assert_eq!(estimate_tokens(""), 0);
        assert_eq!(estimate_tokens("abcd"), 1);
        assert_eq!(estimate_tokens("abcde"), 2);
        assert_eq!(estimate_tokens("éééé"), 1);
    }
}
