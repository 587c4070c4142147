//! One spelling for what devices say about themselves and what advisories say about products.
//!
//! A PLC answers `6ES7 315-2EH14-0AB0` where an advisory writes `6ES7315-2EH14-0AB0`; a
//! Modbus device says `Schneider Electric SA` where the advisory's vendor branch says
//! `Schneider Electric`. Vendors are folded through an alias table, order numbers lose their
//! spaces and case, and a Siemens order number names its product family (S7-300, S7-1500, …)
//! so an advisory written for "SIMATIC S7-300 CPU family" can be matched, at a lower
//! confidence, by a device that only says which CPU it is.

/// Vendor names as written, folded to one key each (lower case, after [`fold`]).
const VENDOR_ALIASES: [(&str, &str); 24] = [
    ("siemens", "siemens"),
    ("siemens energy", "siemens"),
    ("schneider electric", "schneider electric"),
    ("schneider", "schneider electric"),
    ("telemecanique", "schneider electric"),
    ("modicon", "schneider electric"),
    ("rockwell automation", "rockwell automation"),
    ("allen bradley", "rockwell automation"),
    ("rockwell", "rockwell automation"),
    ("general electric", "ge"),
    ("ge digital", "ge"),
    ("ge vernova", "ge"),
    ("ge grid solutions", "ge"),
    ("abb", "abb"),
    ("hitachi energy", "hitachi energy"),
    ("mitsubishi electric", "mitsubishi electric"),
    ("mitsubishi", "mitsubishi electric"),
    ("omron", "omron"),
    ("honeywell", "honeywell"),
    ("emerson", "emerson"),
    ("yokogawa", "yokogawa"),
    ("phoenix contact", "phoenix contact"),
    ("wago", "wago"),
    ("moxa", "moxa"),
];

/// Company-form words that say nothing about who made a device.
const SUFFIXES: [&str; 16] = [
    "ag",
    "se",
    "sa",
    "inc",
    "gmbh",
    "co",
    "ltd",
    "llc",
    "corp",
    "corporation",
    "company",
    "kg",
    "limited",
    "plc",
    "electric co",
    "group",
];

/// Lower case, punctuation to spaces, company forms dropped: `Schneider Electric SA.` →
/// `schneider electric`.
fn fold(s: &str) -> String {
    let spaced: String = s
        .chars()
        .map(|c| {
            if c.is_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                ' '
            }
        })
        .collect();
    let mut words: Vec<&str> = spaced.split_whitespace().collect();
    while words.len() > 1 && words.last().is_some_and(|w| SUFFIXES.contains(w)) {
        words.pop();
    }
    words.join(" ")
}

/// The vendor key of a name as a device or an advisory writes it.
pub fn vendor(name: &str) -> String {
    let f = fold(name);
    VENDOR_ALIASES
        .iter()
        .find(|(alias, _)| f == *alias || f.starts_with(&format!("{alias} ")))
        .map_or(f.clone(), |(_, key)| (*key).to_owned())
}

/// The vendor an order number belongs to, for devices that report one but no vendor (S7's
/// SZL carries the order number, not the maker's name).
pub fn vendor_of_order_number(order: &str) -> Option<&'static str> {
    let o = order_number(order);
    ["6ES7", "6AG1", "6AG2", "6GK", "6ED1", "6AV", "6EP", "6SL"]
        .iter()
        .any(|p| o.starts_with(p))
        .then_some("siemens")
}

/// An order number or model number in one spelling: no spaces, upper case.
pub fn order_number(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// A product or model name for containment tests: upper case, every run of punctuation and
/// space one space, padded so a whole-token search is a plain `contains`.
pub fn name_key(s: &str) -> String {
    let mut out = String::from(" ");
    for c in s.chars() {
        if c.is_alphanumeric() || c == '-' || c == '/' {
            out.push(c.to_ascii_uppercase());
        } else if !out.ends_with(' ') {
            out.push(' ');
        }
    }
    if !out.ends_with(' ') {
        out.push(' ');
    }
    out
}

/// Siemens order-number prefixes (spaces removed) and the family an advisory calls them by.
/// The ET 200 interface modules with a CPU (IM151-8, IM154-8) are S7-300 CPUs as far as the
/// advisories go: "S7-300 CPU family (incl. related ET200 CPUs …)".
const FAMILIES: [(&str, &str); 13] = [
    ("6ES731", "S7-300"),
    ("6AG131", "S7-300"),
    ("6ES7151-8", "S7-300"),
    ("6ES7154-8", "S7-300"),
    ("6AG1151-8", "S7-300"),
    ("6ES741", "S7-400"),
    ("6AG141", "S7-400"),
    ("6ES721", "S7-1200"),
    ("6AG121", "S7-1200"),
    ("6ES751", "S7-1500"),
    ("6AG151", "S7-1500"),
    ("6ES7288", "S7-200 SMART"),
    ("6ES720", "S7-200"),
];

/// The product family an order number belongs to, as advisories name it.
pub fn family(order: &str) -> Option<&'static str> {
    let o = order_number(order);
    FAMILIES
        .iter()
        .filter(|(prefix, _)| o.starts_with(prefix))
        .max_by_key(|(prefix, _)| prefix.len())
        .map(|(_, f)| *f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendors_fold_to_one_key() {
        assert_eq!(vendor("Schneider Electric SA"), "schneider electric");
        assert_eq!(vendor("Schneider Electric"), "schneider electric");
        assert_eq!(vendor("SIEMENS AG"), "siemens");
        assert_eq!(vendor("Allen-Bradley"), "rockwell automation");
        assert_eq!(vendor("Rockwell Automation, Inc."), "rockwell automation");
        assert_eq!(vendor("Hitachi Energy"), "hitachi energy");
        assert_eq!(vendor("Acme Widgets Ltd"), "acme widgets");
        assert_eq!(
            vendor_of_order_number("6ES7 315-2EH14-0AB0"),
            Some("siemens")
        );
        assert_eq!(vendor_of_order_number("BMX P34 2020"), None);
    }

    #[test]
    fn order_numbers_and_families() {
        assert_eq!(order_number("6ES7 315-2EH14-0AB0"), "6ES7315-2EH14-0AB0");
        assert_eq!(family("6ES7 315-2EH14-0AB0"), Some("S7-300"));
        assert_eq!(family("6ES7 151-8AB01-0AB0"), Some("S7-300"));
        assert_eq!(family("6ES7 151-1AA05-0AB0"), None);
        assert_eq!(family("6ES7 511-1AK02-0AB0"), Some("S7-1500"));
        assert_eq!(family("6ES7 214-1AG40-0XB0"), Some("S7-1200"));
        assert_eq!(family("6ES7 288-1SR20-0AA0"), Some("S7-200 SMART"));
        assert_eq!(
            name_key("SIMATIC S7-300 CPU family (incl. …)"),
            " SIMATIC S7-300 CPU FAMILY INCL "
        );
    }
}
