//! The two languages of what people read — the pages, the reports, the notifications:
//! Simplified Chinese, the default, and English. Every label is a key of
//! `dashboards/i18n/{zh-CN,en}.toml`, compiled in; a key missing from either catalogue, or used
//! by a page or a message and in neither, fails the tests below.

use std::collections::HashMap;
use std::sync::OnceLock;

/// A page's language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

/// UNIX seconds as Beijing's wall clock.
fn beijing(secs: u64) -> Option<time::OffsetDateTime> {
    let t = time::OffsetDateTime::from_unix_timestamp(i64::try_from(secs).ok()?).ok()?;
    let cst = time::UtcOffset::from_whole_seconds(crate::time::CST as i32).ok()?;
    Some(t.to_offset(cst))
}

const ZH: &str = include_str!("../../dashboards/i18n/zh-CN.toml");
const EN: &str = include_str!("../../dashboards/i18n/en.toml");

fn catalogue(text: &str) -> HashMap<String, String> {
    toml::from_str(text).unwrap_or_default()
}

fn catalogues() -> &'static (HashMap<String, String>, HashMap<String, String>) {
    static C: OnceLock<(HashMap<String, String>, HashMap<String, String>)> = OnceLock::new();
    C.get_or_init(|| (catalogue(ZH), catalogue(EN)))
}

impl Lang {
    /// `zh-CN`, `en`: what `?lang=` and the cookie say. Anything else is the default.
    pub fn parse(s: &str) -> Lang {
        if s.eq_ignore_ascii_case("en") {
            Lang::En
        } else {
            Lang::Zh
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The other one, for the switch on every page.
    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }

    /// The label `key` in this language; the key itself if a catalogue lacks it (the tests
    /// keep that from shipping).
    pub fn t(self, key: &'static str) -> &'static str {
        let (zh, en) = catalogues();
        let c = match self {
            Lang::Zh => zh,
            Lang::En => en,
        };
        c.get(key).map_or(key, String::as_str)
    }

    /// A UNIX time as people of this language write it, in Beijing time (the pages' readers
    /// are in China; the API and EVE keep UTC).
    pub fn time(self, secs: u64) -> String {
        if secs == 0 {
            return self.t("never").to_owned();
        }
        let Some(t) = beijing(secs) else {
            return secs.to_string();
        };
        let (y, m, d) = (t.year(), u8::from(t.month()), t.day());
        let (h, mi, s) = (t.hour(), t.minute(), t.second());
        match self {
            Lang::Zh => format!("{y}年{m:02}月{d:02}日 {h:02}:{mi:02}:{s:02}（北京时间）"),
            Lang::En => format!("{y}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02} UTC+8"),
        }
    }

    /// A trend's bucket as its axis shows it, in Beijing time: `12-05 08:00` for hours,
    /// `12-05` for days.
    pub fn bucket(self, secs: u64, step: u64) -> String {
        let Some(t) = beijing(secs) else {
            return secs.to_string();
        };
        let (m, d, h) = (u8::from(t.month()), t.day(), t.hour());
        match (self, step >= 86_400) {
            (Lang::Zh, true) => format!("{m}月{d}日"),
            (Lang::Zh, false) => format!("{m}月{d}日 {h:02}时"),
            (Lang::En, true) => format!("{m:02}-{d:02}"),
            (Lang::En, false) => format!("{m:02}-{d:02} {h:02}:00"),
        }
    }

    /// A span of time, in the largest units that keep it readable.
    pub fn duration(self, secs: u64) -> String {
        let (d, h, m) = (secs / 86_400, secs % 86_400 / 3_600, secs % 3_600 / 60);
        match self {
            Lang::Zh if d > 0 => format!("{d}天{h}小时"),
            Lang::Zh if h > 0 => format!("{h}小时{m}分"),
            Lang::Zh => format!("{m}分{}秒", secs % 60),
            Lang::En if d > 0 => format!("{d} d {h} h"),
            Lang::En if h > 0 => format!("{h} h {m} min"),
            Lang::En => format!("{m} min {} s", secs % 60),
        }
    }

    /// A count with the grouping this language uses (both: 1,234,567).
    pub fn count(self, n: u64) -> String {
        let digits = n.to_string();
        let mut out = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn the_catalogues_parse_and_hold_the_same_keys() {
        let zh = toml::from_str::<HashMap<String, String>>(ZH).expect("zh-CN.toml");
        let en = toml::from_str::<HashMap<String, String>>(EN).expect("en.toml");
        let (zk, ek): (BTreeSet<_>, BTreeSet<_>) = (zh.keys().collect(), en.keys().collect());
        assert_eq!(
            zk.difference(&ek).collect::<Vec<_>>(),
            Vec::<&&String>::new(),
            "in zh-CN.toml, not en.toml"
        );
        assert_eq!(
            ek.difference(&zk).collect::<Vec<_>>(),
            Vec::<&&String>::new(),
            "in en.toml, not zh-CN.toml"
        );
        for (k, v) in &zh {
            assert!(!v.trim().is_empty(), "zh-CN {k} is empty");
            assert_ne!(
                Some(v),
                en.get(k).filter(|_| k != "product"),
                "{k} untranslated"
            );
        }
    }

    #[test]
    fn every_key_the_pages_use_is_in_the_catalogues() {
        let (zh, _) = catalogues();
        let src = [
            include_str!("http/web/mod.rs"),
            include_str!("http/web/alerts.rs"),
            include_str!("http/web/bulletins.rs"),
            include_str!("http/web/overview.rs"),
            include_str!("http/web/incidents.rs"),
            include_str!("http/web/assets.rs"),
            include_str!("http/web/live.rs"),
            include_str!("http/web/reports.rs"),
            include_str!("http/web/coordination.rs"),
        ]
        .concat();
        let used: BTreeSet<&str> = src
            .split("t(\"")
            .skip(1)
            .filter_map(|s| s.split('"').next())
            .collect();
        assert!(used.len() > 20, "{used:?}");
        let missing: Vec<_> = used.iter().filter(|k| !zh.contains_key(**k)).collect();
        assert!(
            missing.is_empty(),
            "keys the pages use, in no catalogue: {missing:?}"
        );
    }

    #[test]
    fn times_and_counts_by_language() {
        // 08:00 UTC is 16:00 in Beijing.
        assert_eq!(
            Lang::Zh.time(1_764_921_600),
            "2025年12月05日 16:00:00（北京时间）"
        );
        assert_eq!(Lang::En.time(1_764_921_600), "2025-12-05 16:00:00 UTC+8");
        assert_eq!(
            Lang::En.time(1_764_950_400),
            "2025-12-06 00:00:00 UTC+8",
            "16:00 UTC: the next day in Beijing"
        );
        assert_eq!(Lang::En.time(0), "never");
        assert_eq!(Lang::Zh.count(1_234_567), "1,234,567");
        assert_eq!(Lang::Zh.count(12), "12");
        assert_eq!(Lang::Zh.bucket(1_764_921_600, 3_600), "12月5日 16时");
        assert_eq!(Lang::En.bucket(1_764_950_400, 86_400), "12-06");
        assert_eq!(Lang::Zh.duration(3_725), "1小时2分");
        assert_eq!(Lang::En.duration(90_000), "1 d 1 h");
        assert_eq!(Lang::parse("en"), Lang::En);
        assert_eq!(Lang::parse("fr"), Lang::Zh, "the default");
    }
}
