//! "Did you mean": dictionary names close to a misspelt one.

use super::Dictionary;

/// Edit distance between two ASCII-lowercased names.
fn distance(a: &[u8], b: &[u8]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

/// Up to three names within a few edits of `name`, or ending in `-name` (a missing vendor
/// prefix), closest first.
pub(super) fn close_names(dictionary: &Dictionary, name: &str) -> Vec<String> {
    const SHOWN: usize = 3;
    let wanted = name.to_ascii_lowercase();
    let limit = (wanted.len() / 4).max(2);
    let suffix = format!("-{wanted}");
    let mut scored: Vec<(usize, &str)> = dictionary
        .attributes()
        .filter_map(|attribute| {
            let candidate = attribute.name().to_ascii_lowercase();
            if candidate.ends_with(&suffix) {
                return Some((1, attribute.name()));
            }
            let d = distance(wanted.as_bytes(), candidate.as_bytes());
            (d <= limit).then_some((d, attribute.name()))
        })
        .collect();
    scored.sort();
    scored
        .into_iter()
        .take(SHOWN)
        .map(|(_, name)| name.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance() {
        assert_eq!(distance(b"", b"abc"), 3);
        assert_eq!(distance(b"kitten", b"sitting"), 3);
        assert_eq!(distance(b"cisco-avpair", b"cisco-avpair"), 0);
        assert_eq!(distance(b"cisco-avpiar", b"cisco-avpair"), 2);
    }

    #[test]
    fn suggests_close_and_prefixed_names() {
        let dictionary = Dictionary::builtin();
        assert_eq!(
            close_names(&dictionary, "Cisco-AVPiar"),
            vec!["Cisco-AVPair"]
        );
        assert!(close_names(&dictionary, "AVPair").contains(&"Cisco-AVPair".to_string()));
        assert!(
            close_names(&dictionary, "Session-Timout").contains(&"Session-Timeout".to_string())
        );
        assert!(close_names(&dictionary, "Zzzzzzzzzzzzzz").is_empty());
    }
}
