//! Situation reports (态势报告): a tier's situation over a day, a week or a month, issued on
//! a schedule or on demand, kept as issued and reported to the tier above.
//!
//! Periods follow China Standard Time (UTC+8, no daylight saving): a day is 00:00–24:00 in
//! Beijing, a week Monday to Sunday, a month the calendar month. A report's id names its
//! origin, scope, period and language, so asking again for the same report finds the one
//! issued; nothing rewrites it (a later version only adds the PDF rendered from the same
//! page).

use serde::{Deserialize, Serialize};

use crate::store::Store;
use crate::time::CST;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Daily,
    Weekly,
    Monthly,
}

impl Period {
    pub const ALL: [Period; 3] = [Period::Daily, Period::Weekly, Period::Monthly];

    pub fn parse(s: &str) -> Option<Period> {
        Period::ALL.into_iter().find(|p| p.name() == s)
    }

    pub fn name(self) -> &'static str {
        match self {
            Period::Daily => "daily",
            Period::Weekly => "weekly",
            Period::Monthly => "monthly",
        }
    }

    /// The period holding UNIX second `t`: `[from, to)`, UNIX seconds.
    pub fn around(self, t: u64) -> (u64, u64) {
        let local = t as i64 + CST;
        let day = local.div_euclid(86_400);
        let (from_day, to_day) = match self {
            Period::Daily => (day, day + 1),
            Period::Weekly => {
                // 1970-01-01 was a Thursday: Monday is 3 days before.
                let monday = day - (day + 3).rem_euclid(7);
                (monday, monday + 7)
            }
            Period::Monthly => {
                let date =
                    time::Date::from_julian_day(day as i32 + 2_440_588).unwrap_or(time::Date::MIN);
                let first = date.replace_day(1).unwrap_or(date);
                let next = if first.month() == time::Month::December {
                    time::Date::from_calendar_date(first.year() + 1, time::Month::January, 1)
                } else {
                    time::Date::from_calendar_date(first.year(), first.month().next(), 1)
                }
                .unwrap_or(first);
                (
                    i64::from(first.to_julian_day() - 2_440_588),
                    i64::from(next.to_julian_day() - 2_440_588),
                )
            }
        };
        let at = |d: i64| (d * 86_400 - CST).max(0) as u64;
        (at(from_day), at(to_day))
    }

    /// The last whole period before `now`.
    pub fn last_complete(self, now: u64) -> (u64, u64) {
        let (from, _) = self.around(now);
        self.around(from.saturating_sub(1))
    }
}

/// The day a period starts, as Beijing writes it: `2026-11-21`.
pub fn day_of(t: u64) -> String {
    let local = (t as i64 + CST).div_euclid(86_400);
    time::Date::from_julian_day(local as i32 + 2_440_588)
        .map(|d| format!("{}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()))
        .unwrap_or_default()
}

/// `2026-11-21` as the UNIX second its day starts in Beijing.
pub fn parse_day(s: &str) -> Option<u64> {
    let mut f = s.splitn(3, '-');
    let (y, m, d) = (
        f.next()?.parse().ok()?,
        f.next()?.parse::<u8>().ok()?,
        f.next()?.parse().ok()?,
    );
    let date = time::Date::from_calendar_date(y, time::Month::try_from(m).ok()?, d).ok()?;
    let days = i64::from(date.to_julian_day() - 2_440_588);
    u64::try_from(days * 86_400 - CST).ok()
}

/// A report as stored at every tier it reaches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, clickhouse::Row)]
pub struct Row {
    pub report_id: String,
    /// The tier that issued it.
    pub origin: String,
    pub province: String,
    pub enterprise_id: String,
    pub period: String,
    pub period_from: u32,
    pub period_to: u32,
    pub issued: u32,
    pub lang: String,
    pub title: String,
    /// JSON of the [`Situation`](super::situation::Situation) it prints.
    pub figures: String,
    /// The page, whole.
    pub html: String,
    /// The PDF, base64; empty until rendered here.
    pub pdf: String,
    pub version: u64,
}

/// The id a report of this origin, scope, period start and language has.
pub fn id_of(
    origin: &str,
    province: &str,
    enterprise: &str,
    period: Period,
    from: u64,
    lang: &str,
) -> String {
    let scope = match (province, enterprise) {
        ("", "") => "all",
        (p, "") => p,
        (_, e) => e,
    };
    format!(
        "{origin}-{}-{}-{scope}-{lang}",
        period.name(),
        day_of(from).replace('-', "")
    )
}

const COLUMNS: &str = "report_id, origin, province, enterprise_id, period, \
    toUInt32(period_from) AS period_from, toUInt32(period_to) AS period_to, \
    toUInt32(issued) AS issued, lang, title, figures, html, pdf, version";

/// Report `id`, newest version.
pub async fn get(store: &Store, id: &str) -> clickhouse::error::Result<Option<Row>> {
    let rows: Vec<Row> = store
        .client()
        .query(&format!(
            "SELECT {COLUMNS} FROM situation_reports WHERE report_id = ? \
             ORDER BY version DESC LIMIT 1"
        ))
        .bind(id)
        .fetch_all()
        .await?;
    Ok(rows.into_iter().next())
}

/// The reports whose scope `sees` accepts, newest first, without their pages.
pub async fn list(
    store: &Store,
    sees: impl Fn(&str, &str) -> bool,
    limit: usize,
) -> clickhouse::error::Result<Vec<Row>> {
    let rows: Vec<Row> = store
        .client()
        .query(
            "SELECT report_id, argMax(origin, version) AS origin, province, enterprise_id, \
             argMax(period, version) AS period, toUInt32(argMax(period_from, version)) AS period_from, \
             toUInt32(argMax(period_to, version)) AS period_to, toUInt32(argMax(issued, version)) AS issued, \
             argMax(lang, version) AS lang, argMax(title, version) AS title, '' AS figures, \
             '' AS html, '' AS pdf, toUInt64(0) AS version FROM situation_reports \
             GROUP BY province, enterprise_id, report_id ORDER BY period_from DESC, report_id",
        )
        .fetch_all()
        .await?;
    Ok(rows
        .into_iter()
        .filter(|r| sees(&r.province, &r.enterprise_id))
        .take(limit)
        .collect())
}

pub async fn put(store: &Store, row: &Row) -> clickhouse::error::Result<()> {
    store
        .insert("situation_reports", std::slice::from_ref(row))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_follow_beijing_days() {
        // 2026-11-21 17:40 UTC is 2026-11-22 01:40 in Beijing.
        let t = 1_795_282_800;
        assert_eq!(day_of(t), "2026-11-22");
        let (from, to) = Period::Daily.around(t);
        assert_eq!(day_of(from), "2026-11-22");
        assert_eq!(to - from, 86_400);
        assert_eq!(parse_day("2026-11-22"), Some(from));
        assert_eq!(
            from % 86_400,
            16 * 3_600,
            "midnight in Beijing is 16:00 UTC"
        );
        let (wf, wt) = Period::Weekly.around(t);
        assert_eq!(day_of(wf), "2026-11-16", "a Monday");
        assert_eq!(wt - wf, 7 * 86_400);
        let (mf, mt) = Period::Monthly.around(t);
        assert_eq!(
            (day_of(mf).as_str(), day_of(mt).as_str()),
            ("2026-11-01", "2026-12-01")
        );
        let (df, dt) = Period::Monthly.around(parse_day("2026-12-31").unwrap());
        assert_eq!(
            (day_of(df).as_str(), day_of(dt).as_str()),
            ("2026-12-01", "2027-01-01")
        );
        assert_eq!(Period::Daily.last_complete(t).1, from);
        assert_eq!(parse_day("2026-13-01"), None);
        assert_eq!(
            id_of("zj", "330000", "", Period::Daily, from, "zh-CN"),
            "zj-daily-20261122-330000-zh-CN"
        );
    }
}
