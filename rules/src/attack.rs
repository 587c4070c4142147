//! The MITRE ATT&CK for ICS techniques rules cite (`metadata: mitre_attack_ics T0855`), by
//! name in English and Simplified Chinese, for the people reading an alert. The table is
//! `rules/attack-ics.tsv`, compiled in.

const TABLE: &str = include_str!("../attack-ics.tsv");

/// A technique: its id and names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Technique {
    pub id: &'static str,
    pub name: &'static str,
    pub name_zh: &'static str,
}

/// Every technique of the table, in its order.
pub fn all() -> impl Iterator<Item = Technique> {
    TABLE
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let mut f = l.split('\t');
            Some(Technique {
                id: f.next()?,
                name: f.next()?,
                name_zh: f.next()?,
            })
        })
}

/// Technique `id` (`T0855`), if the table has it.
pub fn technique(id: &str) -> Option<Technique> {
    all().find(|t| t.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_technique_the_default_rules_cite_is_named() {
        assert!(all().count() >= 20);
        for t in all() {
            assert!(
                t.id.len() == 5
                    && t.id.starts_with("T0")
                    && !t.name.is_empty()
                    && !t.name_zh.is_empty(),
                "{t:?}"
            );
        }
        let mut cited = 0;
        for (file, text) in crate::default::SOURCES {
            for id in text.split("mitre_attack_ics ").skip(1) {
                let id: String = id.chars().take_while(char::is_ascii_alphanumeric).collect();
                assert!(
                    technique(&id).is_some(),
                    "{file}: {id} is not in attack-ics.tsv"
                );
                cited += 1;
            }
        }
        assert!(cited > 80, "{cited}");
        assert_eq!(
            technique("T0855").map(|t| t.name),
            Some("Unauthorized Command Message")
        );
    }
}
