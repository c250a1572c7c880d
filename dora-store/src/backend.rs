//! The one interface both backends implement: run a statement with parameters,
//! read rows as plain values. Every table's SQL is written once, with SQLite's
//! `?N` placeholders; the PostgreSQL side rewrites them to `$N`.

use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use std::collections::HashMap;

/// A value read from or bound to a statement.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    /// SQL NULL.
    Null,
    /// An integer (SQLite INTEGER, PostgreSQL BIGINT/INTEGER/SMALLINT; booleans are 0/1).
    Int(i64),
    /// A floating-point number (REAL, DOUBLE PRECISION).
    Real(f64),
    /// Text.
    Text(String),
}

impl SqlValue {
    /// Text, when the value is text.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Text(s) => Some(s),
            _ => None,
        }
    }

    /// An integer, when the value is one.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Self::Int(n) => Some(*n),
            _ => None,
        }
    }
}

impl From<&str> for SqlValue {
    fn from(s: &str) -> Self {
        Self::Text(s.to_string())
    }
}
impl From<String> for SqlValue {
    fn from(s: String) -> Self {
        Self::Text(s)
    }
}
impl From<&String> for SqlValue {
    fn from(s: &String) -> Self {
        Self::Text(s.clone())
    }
}
impl From<i64> for SqlValue {
    fn from(n: i64) -> Self {
        Self::Int(n)
    }
}
impl From<bool> for SqlValue {
    fn from(b: bool) -> Self {
        Self::Int(i64::from(b))
    }
}
impl From<f64> for SqlValue {
    fn from(x: f64) -> Self {
        Self::Real(x)
    }
}
impl<T: Into<SqlValue>> From<Option<T>> for SqlValue {
    fn from(v: Option<T>) -> Self {
        v.map_or(Self::Null, Into::into)
    }
}

/// Build a parameter list: `vals![a, b, c]`.
macro_rules! vals {
    ($($x:expr),* $(,)?) => { &[$($crate::backend::SqlValue::from($x)),*][..] };
}
pub(crate) use vals;

/// A database error of either backend, or a value that did not decode.
#[derive(Debug)]
pub(crate) enum DbError {
    Sqlite(rusqlite::Error),
    Postgres(postgres::Error),
    Decode(String),
}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Sqlite(e)
    }
}
impl From<postgres::Error> for DbError {
    fn from(e: postgres::Error) -> Self {
        Self::Postgres(e)
    }
}

/// Statements with parameters and rows of values: what the shared store code
/// needs from a transaction.
pub(crate) trait Exec {
    /// Run a statement; the number of rows changed.
    fn exec(&mut self, sql: &str, params: &[SqlValue]) -> Result<u64, DbError>;
    /// Run a query; its rows.
    fn rows(&mut self, sql: &str, params: &[SqlValue]) -> Result<Vec<Vec<SqlValue>>, DbError>;

    /// Insert many rows: `insert` is `INSERT INTO t (c1, …, cn)`, `tail` what
    /// follows the values (an `ON CONFLICT` clause, or nothing). Rows sharing
    /// their first `key_cols` values are written once, the last one winning,
    /// as sequential upserts that replace every other column would leave them
    /// (`key_cols` 0: no de-duplication). One statement per row by default;
    /// PostgreSQL sends multi-row statements (one round trip per chunk).
    fn insert_rows(
        &mut self,
        insert: &str,
        tail: &str,
        key_cols: usize,
        rows: &[Vec<SqlValue>],
    ) -> Result<(), DbError> {
        let Some(first) = rows.first() else {
            return Ok(());
        };
        let placeholders: Vec<String> = (1..=first.len()).map(|i| format!("?{i}")).collect();
        let sql = format!("{insert} VALUES ({}) {tail}", placeholders.join(","));
        for row in dedup_rows(rows, key_cols) {
            self.exec(&sql, row)?;
        }
        Ok(())
    }
}

/// Rows with distinct keys (the first `key_cols` values), the last of each
/// key kept, in first-seen order.
pub(crate) fn dedup_rows(rows: &[Vec<SqlValue>], key_cols: usize) -> Vec<&Vec<SqlValue>> {
    if key_cols == 0 {
        return rows.iter().collect();
    }
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut out: Vec<&Vec<SqlValue>> = Vec::with_capacity(rows.len());
    for row in rows {
        let key = format!("{:?}", &row[..key_cols.min(row.len())]);
        match index.get(&key) {
            Some(&i) => out[i] = row,
            None => {
                index.insert(key, out.len());
                out.push(row);
            }
        }
    }
    out
}

pub(crate) fn sqlite_rows(
    conn: &rusqlite::Connection,
    sql: &str,
    params: &[SqlValue],
) -> Result<Vec<Vec<SqlValue>>, DbError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let n = stmt.column_count();
    let mut rows = stmt.query(rusqlite::params_from_iter(params.iter().map(to_sqlite)))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut values = Vec::with_capacity(n);
        for i in 0..n {
            use rusqlite::types::ValueRef;
            values.push(match row.get_ref(i)? {
                ValueRef::Null => SqlValue::Null,
                ValueRef::Integer(n) => SqlValue::Int(n),
                ValueRef::Real(x) => SqlValue::Real(x),
                ValueRef::Text(t) => SqlValue::Text(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => SqlValue::Text(String::from_utf8_lossy(b).into_owned()),
            });
        }
        out.push(values);
    }
    Ok(out)
}

pub(crate) fn to_sqlite(v: &SqlValue) -> rusqlite::types::Value {
    use rusqlite::types::Value;
    match v {
        SqlValue::Null => Value::Null,
        SqlValue::Int(n) => Value::Integer(*n),
        SqlValue::Real(x) => Value::Real(*x),
        SqlValue::Text(s) => Value::Text(s.clone()),
    }
}

/// `?1` → `$1` (the shared SQL has no `?` inside string literals).
pub(crate) fn pg_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

impl ToSql for SqlValue {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            SqlValue::Null => Ok(IsNull::Yes),
            SqlValue::Int(n) => match *ty {
                Type::INT8 => n.to_sql(ty, out),
                Type::INT4 => i32::try_from(*n)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*n)?.to_sql(ty, out),
                Type::BOOL => (*n != 0).to_sql(ty, out),
                Type::FLOAT8 => (*n as f64).to_sql(ty, out),
                _ => n.to_string().to_sql(ty, out),
            },
            SqlValue::Real(x) => match *ty {
                Type::FLOAT4 => (*x as f32).to_sql(ty, out),
                Type::FLOAT8 => x.to_sql(ty, out),
                _ => x.to_string().to_sql(ty, out),
            },
            SqlValue::Text(s) => s.as_str().to_sql(ty, out),
        }
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// A PostgreSQL transaction (or client) with a cache of prepared statements.
pub(crate) struct PgExec<'a, C: postgres::GenericClient> {
    pub client: &'a mut C,
    pub cache: &'a mut HashMap<String, postgres::Statement>,
}

impl<C: postgres::GenericClient> PgExec<'_, C> {
    fn statement(&mut self, sql: &str) -> Result<postgres::Statement, DbError> {
        if let Some(s) = self.cache.get(sql) {
            return Ok(s.clone());
        }
        let stmt = self.client.prepare(&pg_placeholders(sql))?;
        self.cache.insert(sql.to_string(), stmt.clone());
        Ok(stmt)
    }
}

fn pg_params(params: &[SqlValue]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

impl<C: postgres::GenericClient> Exec for PgExec<'_, C> {
    fn exec(&mut self, sql: &str, params: &[SqlValue]) -> Result<u64, DbError> {
        let stmt = self.statement(sql)?;
        Ok(self.client.execute(&stmt, &pg_params(params))?)
    }

    fn rows(&mut self, sql: &str, params: &[SqlValue]) -> Result<Vec<Vec<SqlValue>>, DbError> {
        let stmt = self.statement(sql)?;
        let rows = self.client.query(&stmt, &pg_params(params))?;
        rows.iter().map(pg_row).collect()
    }

    fn insert_rows(
        &mut self,
        insert: &str,
        tail: &str,
        key_cols: usize,
        rows: &[Vec<SqlValue>],
    ) -> Result<(), DbError> {
        let Some(first) = rows.first() else {
            return Ok(());
        };
        let cols = first.len().max(1);
        // PostgreSQL takes at most 65535 parameters per statement.
        let chunk = (30_000 / cols).clamp(1, 500);
        let rows = dedup_rows(rows, key_cols);
        for part in rows.chunks(chunk) {
            let mut sql = format!("{insert} VALUES ");
            let mut n = 0;
            for (r, row) in part.iter().enumerate() {
                if r > 0 {
                    sql.push(',');
                }
                sql.push('(');
                for c in 0..row.len() {
                    n += 1;
                    if c > 0 {
                        sql.push(',');
                    }
                    sql.push_str(&format!("${n}"));
                }
                sql.push(')');
            }
            sql.push(' ');
            sql.push_str(tail);
            let params: Vec<&(dyn ToSql + Sync)> = part
                .iter()
                .flat_map(|row| row.iter().map(|p| p as &(dyn ToSql + Sync)))
                .collect();
            // Full chunks repeat: prepare them once; a last, shorter one is
            // prepared and run once.
            let stmt = if part.len() == chunk {
                match self.cache.get(&sql) {
                    Some(s) => s.clone(),
                    None => {
                        let s = self.client.prepare(&sql)?;
                        self.cache.insert(sql.clone(), s.clone());
                        s
                    }
                }
            } else {
                self.client.prepare(&sql)?
            };
            self.client.execute(&stmt, &params)?;
        }
        Ok(())
    }
}

/// Decode a row of the column types the store's tables and queries use.
pub(crate) fn pg_row(row: &postgres::Row) -> Result<Vec<SqlValue>, DbError> {
    let mut out = Vec::with_capacity(row.len());
    for (i, col) in row.columns().iter().enumerate() {
        let ty = col.type_();
        let v = match *ty {
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => {
                row.try_get::<_, Option<String>>(i)?.map(SqlValue::Text)
            }
            Type::INT8 => row.try_get::<_, Option<i64>>(i)?.map(SqlValue::Int),
            Type::INT4 => row
                .try_get::<_, Option<i32>>(i)?
                .map(|n| SqlValue::Int(n.into())),
            Type::INT2 => row
                .try_get::<_, Option<i16>>(i)?
                .map(|n| SqlValue::Int(n.into())),
            Type::BOOL => row
                .try_get::<_, Option<bool>>(i)?
                .map(|b| SqlValue::Int(b.into())),
            Type::FLOAT8 => row.try_get::<_, Option<f64>>(i)?.map(SqlValue::Real),
            Type::FLOAT4 => row
                .try_get::<_, Option<f32>>(i)?
                .map(|x| SqlValue::Real(x.into())),
            _ => {
                return Err(DbError::Decode(format!(
                    "column {} has type {ty}, which the store does not read (cast it to text)",
                    col.name()
                )));
            }
        };
        out.push(v.unwrap_or(SqlValue::Null));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_are_rewritten() {
        assert_eq!(
            super::pg_placeholders("VALUES (?1,?2, ?10) WHERE a = '?'"),
            "VALUES ($1,$2, $10) WHERE a = '?'"
        );
    }
}
