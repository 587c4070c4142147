//! A query's WHERE clause and its bound values, built together so they cannot drift apart,
//! and the account's scope as the first conditions of it. Every value a request carries is
//! bound (`?`), never spliced into the SQL text.

use super::ApiError;
use crate::account::Account;

/// A value bound to a `?` of the query.
#[derive(Clone)]
pub enum Arg {
    Str(String),
    U32(u32),
    U64(u64),
    U32s(Vec<u32>),
}

/// A WHERE clause (` WHERE a = ? AND b = ?`, or empty) and its arguments.
#[derive(Clone, Default)]
pub struct Filter {
    pub sql: String,
    pub args: Vec<Arg>,
}

impl Filter {
    /// Adds a condition and the values its `?` take.
    pub fn and(&mut self, clause: &str, args: impl IntoIterator<Item = Arg>) {
        self.sql.push_str(if self.sql.is_empty() {
            " WHERE "
        } else {
            " AND "
        });
        self.sql.push_str(clause);
        self.args.extend(args);
    }

    /// Binds the arguments to `q`, whose text holds the clause.
    pub fn bind(self, mut q: clickhouse::query::Query) -> clickhouse::query::Query {
        for a in self.args {
            q = match a {
                Arg::Str(s) => q.bind(s),
                Arg::U32(n) => q.bind(n),
                Arg::U64(n) => q.bind(n),
                Arg::U32s(v) => q.bind(v),
            };
        }
        q
    }
}

/// The scope filters: the account's own, narrowed (never widened) by the request's province
/// and enterprise.
pub fn scope(
    who: &Account,
    province: Option<&str>,
    enterprise: Option<&str>,
    f: &mut Filter,
) -> Result<(), ApiError> {
    let (province, enterprise) = who.narrow(province, enterprise)?;
    if let Some(v) = province {
        f.and("province = ?", [Arg::Str(v)]);
    }
    if let Some(v) = enterprise {
        f.and("enterprise_id = ?", [Arg::Str(v)]);
    }
    Ok(())
}
