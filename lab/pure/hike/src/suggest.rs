//! "Did you mean ...?": the closest name within a small edit distance, one rule for every
//! name a learner types (the compiler's names, the lab's commands, maps, nodes, programs).

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The closest name within a third of the length of `name` (at least 1) of edits; none for
/// a name shorter than 3 characters, or one no candidate is that close to (so `clear` never
/// gets `classroom`).
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    if name.len() < 3 {
        return None;
    }
    let limit = (name.len() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c)
}

/// [`suggest`] as the lab's errors say it: "; did you mean `NAME`?", or nothing.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    suggest(name, candidates)
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_only_close_names() {
        let maps = ["pkt_count", "verdict", "hvm_chain_map"];
        assert_eq!(suggest("pkt_cont", maps), Some("pkt_count"));
        assert_eq!(suggest("verdcit", maps), Some("verdict"));
        assert_eq!(suggest("ab", ["abc"]), None, "too short to guess");
        assert_eq!(suggest("clear", ["classroom", "chain"]), None);
        assert_eq!(suggest("tgg", ["tg", "sut", "clt"]), Some("tg"));
        assert_eq!(
            did_you_mean("pkt_cont", maps),
            "; did you mean `pkt_count`?"
        );
        assert_eq!(did_you_mean("nothing_like", maps), "");
    }
}
