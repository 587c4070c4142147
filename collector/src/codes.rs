//! The code spaces the registry, the configuration and the reports share: provinces
//! (GB/T 2260), unified social credit codes (GB 32100-2015), industry classes and security
//! grades. A leaf: checking a code needs nothing else of the collector.

pub use icsight_eve::codes::{check_province, check_uscc, PROVINCES};
use icsight_eve::Industry;

/// Enterprise types (企业类型) of the classification: an industrial enterprise, an industrial
/// internet platform enterprise, an operator of critical information infrastructure.
pub const KINDS: [&str; 3] = ["industrial", "platform", "infrastructure"];

/// Enterprise scales, as the statistics bureau classes them.
pub const SCALES: [&str; 4] = ["large", "medium", "small", "micro"];

/// How much an industry class weighs in a priority: classes whose plants are critical
/// infrastructure weigh most.
pub fn weight(industry: Industry) -> u8 {
    use Industry::*;
    match industry {
        Energy | Petrochemical | Chemical | Water => 20,
        Metallurgy | Mining | Pharmaceutical => 15,
        Equipment | Machinery | Automotive | Electronics => 10,
        BuildingMaterials | LightIndustry | Textile | Other => 5,
    }
}

/// GB/T 2260 province and prefecture names (`dashboards/regions.tsv`): Chinese for every
/// code, English for provinces.
static REGIONS: std::sync::LazyLock<
    std::collections::HashMap<&'static str, (&'static str, &'static str)>,
> = std::sync::LazyLock::new(|| {
    include_str!("../../dashboards/regions.tsv")
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut f = l.split('\t');
            Some((f.next()?, (f.next()?, f.next().unwrap_or(""))))
        })
        .collect()
});

/// The name of a province or prefecture by its GB/T 2260 code, in English if asked (none
/// for a prefecture: the table has no English); a prefecture of a municipality (`110100`)
/// is its municipality.
pub fn region_name(code: &str, english: bool) -> Option<&'static str> {
    let (zh, en) = REGIONS.get(code).copied().or_else(|| {
        let province = format!("{}0000", code.get(..2)?);
        (code.ends_with("0100") || code.ends_with("0200"))
            .then(|| REGIONS.get(province.as_str()).copied())
            .flatten()
    })?;
    match (english, en.is_empty()) {
        (false, _) => Some(zh),
        (true, false) => Some(en),
        // No English name: the caller shows the code.
        (true, true) => None,
    }
}

pub fn check_industry(name: &str) -> Result<(), String> {
    if Industry::parse(name).is_some() {
        Ok(())
    } else {
        // Most weighty first.
        let mut known = Industry::ALL;
        known.sort_by_key(|i| std::cmp::Reverse(weight(*i)));
        Err(format!(
            "{name:?} is not an industry class: use {}",
            known.map(Industry::name).join(", ")
        ))
    }
}

pub fn check_grade(grade: u8) -> Result<(), String> {
    if (1..=3).contains(&grade) {
        Ok(())
    } else {
        Err(format!("{grade} is not a security grade: 1, 2 or 3"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_by_code() {
        assert_eq!(region_name("330000", false), Some("浙江省"));
        assert_eq!(region_name("330000", true), Some("Zhejiang"));
        assert_eq!(region_name("330100", false), Some("杭州市"));
        assert_eq!(
            region_name("330100", true),
            None,
            "no English for prefectures"
        );
        assert_eq!(region_name("110100", false), Some("北京市"));
        assert_eq!(region_name("999900", false), None);
        for p in PROVINCES {
            assert!(region_name(p, true).is_some_and(|n| n.is_ascii()), "{p}");
        }
    }

    #[test]
    fn industries_by_name() {
        assert_eq!(
            Industry::parse("building_materials"),
            Some(Industry::BuildingMaterials)
        );
        assert_eq!(Industry::parse("Energy"), None);
        assert_eq!(Industry::LightIndustry.name(), "light_industry");
        assert_eq!(weight(Industry::Water), 20);
        assert!(check_industry("water").is_ok());
        let e = check_industry("steel").unwrap_err();
        assert!(
            e.starts_with("\"steel\" is not an industry class: use energy, petrochemical,"),
            "{e}"
        );
        assert!(e.ends_with("textile, other"), "{e}");
    }
}
