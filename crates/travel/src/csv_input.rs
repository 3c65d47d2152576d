//! Reading the CSV texts: header by name, line-numbered errors, typed cells.

use casehub_model::Location;
use csv::{ReaderBuilder, StringRecord, Trim};

use crate::TravelError;

/// A parsed CSV text: its columns located by header name, and its data rows.
pub(crate) struct Sheet {
    file: String,
    /// For each known column (required first, then optional), its index in the record.
    columns: Vec<(&'static str, Option<usize>)>,
    rows: Vec<(u64, StringRecord)>,
}

/// One data row, with what is needed to report an error on it.
pub(crate) struct Row<'a> {
    sheet: &'a Sheet,
    line: u64,
    record: &'a StringRecord,
}

impl Sheet {
    /// Read `text` (named `file` in errors). The header must name every
    /// `required` column and may name `optional` ones; any other name is an error.
    pub(crate) fn read(
        file: &str,
        text: &str,
        required: &[&'static str],
        optional: &[&'static str],
    ) -> Result<Sheet, TravelError> {
        let parse_error = |line: u64, reason: String| TravelError::Parse {
            file: file.to_string(),
            line,
            reason,
        };
        let expected = || {
            required
                .iter()
                .chain(optional)
                .copied()
                .collect::<Vec<_>>()
                .join(",")
        };
        let lines = LineIndex::new(text);
        let mut reader = ReaderBuilder::new()
            .has_headers(true)
            .trim(Trim::All)
            .comment(Some(b'#'))
            .from_reader(text.as_bytes());

        let header = reader
            .headers()
            .map_err(|e| parse_error(lines.error_line(&e, 1), csv_reason(&e)))?
            .clone();
        let header_line = header.position().map_or(1, |p| lines.line_of(p));
        if header.iter().all(str::is_empty) {
            return Err(parse_error(
                header_line,
                format!("missing header row: expected `{}`", expected()),
            ));
        }
        for (i, name) in header.iter().enumerate() {
            if !required.contains(&name) && !optional.contains(&name) {
                return Err(parse_error(
                    header_line,
                    format!(
                        "unknown column {name:?} in the header (expected `{}`)",
                        expected()
                    ),
                ));
            }
            if header.iter().take(i).any(|earlier| earlier == name) {
                return Err(parse_error(
                    header_line,
                    format!("column {name:?} appears more than once in the header"),
                ));
            }
        }
        let position = |name: &str| header.iter().position(|h| h == name);
        for &name in required {
            if position(name).is_none() {
                return Err(parse_error(
                    header_line,
                    format!(
                        "missing column {name:?} in the header (expected `{}`)",
                        expected()
                    ),
                ));
            }
        }
        let columns = required
            .iter()
            .chain(optional)
            .map(|&name| (name, position(name)))
            .collect();

        let mut rows = Vec::new();
        let mut last_line = header_line;
        for record in reader.records() {
            let record = record
                .map_err(|e| parse_error(lines.error_line(&e, last_line + 1), csv_reason(&e)))?;
            last_line = record
                .position()
                .map_or(last_line + 1, |p| lines.line_of(p));
            rows.push((last_line, record));
        }
        Ok(Sheet {
            file: file.to_string(),
            columns,
            rows,
        })
    }

    /// The data rows in file order.
    pub(crate) fn rows(&self) -> impl Iterator<Item = Row<'_>> {
        self.rows.iter().map(|(line, record)| Row {
            sheet: self,
            line: *line,
            record,
        })
    }
}

/// Maps csv positions to 1-based line numbers of the file.
///
/// The csv crate's position of a record is where its scan started, before
/// any blank or comment lines it skipped, and its own line count ignores
/// those lines; so we count newlines ourselves and step over skipped lines.
struct LineIndex<'a> {
    bytes: &'a [u8],
    newlines: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(text: &'a str) -> Self {
        let bytes = text.as_bytes();
        let newlines = bytes
            .iter()
            .enumerate()
            .filter(|&(_, &b)| b == b'\n')
            .map(|(i, _)| i)
            .collect();
        Self { bytes, newlines }
    }

    fn line_of(&self, position: &csv::Position) -> u64 {
        let mut byte =
            usize::try_from(position.byte()).map_or(self.bytes.len(), |b| b.min(self.bytes.len()));
        // Step over the blank and comment lines the reader skipped.
        while matches!(self.bytes.get(byte), Some(b'\n' | b'\r' | b'#')) {
            match self.bytes[byte..].iter().position(|&b| b == b'\n') {
                Some(offset) => byte += offset + 1,
                None => break,
            }
        }
        self.newlines.partition_point(|&nl| nl < byte) as u64 + 1
    }

    fn error_line(&self, error: &csv::Error, fallback: u64) -> u64 {
        error.position().map_or(fallback, |p| self.line_of(p))
    }
}

fn csv_reason(error: &csv::Error) -> String {
    match error.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("expected {expected_len} fields as in the header, found {len}"),
        _ => format!("not readable as CSV: {error}"),
    }
}

impl Row<'_> {
    pub(crate) fn line(&self) -> u64 {
        self.line
    }

    /// An error on this row.
    pub(crate) fn error(&self, reason: impl Into<String>) -> TravelError {
        TravelError::Parse {
            file: self.sheet.file.clone(),
            line: self.line,
            reason: reason.into(),
        }
    }

    /// An error on one cell: `column km: "-3" must not be negative`.
    pub(crate) fn cell_error(&self, column: &str, value: &str, reason: &str) -> TravelError {
        self.error(format!("column {column}: {value:?} {reason}"))
    }

    /// The trimmed cell; empty if the column is absent from the header.
    pub(crate) fn cell(&self, column: &str) -> &str {
        self.sheet
            .columns
            .iter()
            .find(|(name, _)| *name == column)
            .and_then(|(_, index)| *index)
            .and_then(|index| self.record.get(index))
            .unwrap_or("")
    }

    /// A cell that must not be empty (an id).
    pub(crate) fn id(&self, column: &str) -> Result<&str, TravelError> {
        match self.cell(column) {
            "" => Err(self.error(format!("column {column}: must not be empty"))),
            value => Ok(value),
        }
    }

    /// A finite number, or `None` for an empty cell.
    pub(crate) fn number(&self, column: &str) -> Result<Option<f64>, TravelError> {
        let text = self.cell(column);
        if text.is_empty() {
            return Ok(None);
        }
        match text.parse::<f64>() {
            Ok(value) if value.is_finite() => Ok(Some(value)),
            Ok(_) => Err(self.cell_error(column, text, "must be a finite number")),
            Err(_) => Err(self.cell_error(column, text, "is not a number")),
        }
    }

    /// A finite number ≥ 0, or `None` for an empty cell.
    pub(crate) fn non_negative(&self, column: &str) -> Result<Option<f64>, TravelError> {
        match self.number(column)? {
            Some(value) if value < 0.0 => {
                Err(self.cell_error(column, self.cell(column), "must not be negative"))
            }
            other => Ok(other),
        }
    }

    /// A finite number > 0, or `None` for an empty cell.
    pub(crate) fn positive(&self, column: &str) -> Result<Option<f64>, TravelError> {
        match self.number(column)? {
            Some(value) if value <= 0.0 => {
                Err(self.cell_error(column, self.cell(column), "must be greater than 0"))
            }
            other => Ok(other),
        }
    }

    /// A value that must be present.
    pub(crate) fn present(&self, column: &str, value: Option<f64>) -> Result<f64, TravelError> {
        value.ok_or_else(|| self.error(format!("column {column}: must not be empty")))
    }

    /// A validated position from the `lat` and `lon` columns.
    pub(crate) fn location(&self) -> Result<Location, TravelError> {
        let lat = self.present("lat", self.number("lat")?)?;
        let lon = self.present("lon", self.number("lon")?)?;
        Location::new(lat, lon).map_err(|e| {
            // The model names the field `lat` or `lon`, which are our column names.
            let column = if e.field == "lon" { "lon" } else { "lat" };
            self.cell_error(column, self.cell(column), &e.reason)
        })
    }

    /// A yes/no cell; empty means no.
    pub(crate) fn flag(&self, column: &str) -> Result<bool, TravelError> {
        let text = self.cell(column);
        match text.to_ascii_lowercase().as_str() {
            "" | "false" | "no" | "0" => Ok(false),
            "true" | "yes" | "1" => Ok(true),
            _ => Err(self.cell_error(
                column,
                text,
                "must be true/yes/1 or false/no/0 (empty means false)",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Sheet, TravelError> {
        Sheet::read("t.csv", text, &["a", "b"], &["c"])
    }

    fn message(text: &str) -> String {
        parse(text).err().expect("should fail").to_string()
    }

    #[test]
    fn columns_are_found_by_name_and_lines_are_counted() {
        let sheet = parse("b,c,a\n1,2,3\n\n# comment\n4,,6\n").unwrap();
        let rows: Vec<_> = sheet.rows().collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (rows[0].cell("a"), rows[0].cell("b"), rows[0].cell("c")),
            ("3", "1", "2")
        );
        assert_eq!(rows[0].line(), 2);
        assert_eq!(rows[1].line(), 5, "blank and comment lines still count");
        assert_eq!(rows[1].cell("c"), "");
    }

    #[test]
    fn optional_column_may_be_absent() {
        let sheet = parse("a,b\n x , y \n").unwrap();
        let row = sheet.rows().next().unwrap();
        assert_eq!((row.cell("a"), row.cell("c")), ("x", ""));
    }

    #[test]
    fn header_errors() {
        assert_eq!(
            message(""),
            "t.csv line 1: missing header row: expected `a,b,c`"
        );
        assert_eq!(
            message("a,c\n1,2\n"),
            "t.csv line 1: missing column \"b\" in the header (expected `a,b,c`)"
        );
        assert!(message("a,b,d\n").starts_with("t.csv line 1: unknown column \"d\""));
        assert!(message("a,b,a\n").contains("appears more than once"));
    }

    #[test]
    fn wrong_field_count_names_the_line() {
        assert_eq!(
            message("a,b\n1,2\n1,2,3\n"),
            "t.csv line 3: expected 2 fields as in the header, found 3"
        );
    }

    #[test]
    fn typed_cells() {
        let sheet = parse("a,b,c\n-1,nan,x\n1e3,inf,\n").unwrap();
        let rows: Vec<_> = sheet.rows().collect();
        assert_eq!(rows[0].number("a").unwrap(), Some(-1.0));
        assert_eq!(
            rows[0].non_negative("a").unwrap_err().to_string(),
            "t.csv line 2: column a: \"-1\" must not be negative"
        );
        assert_eq!(
            rows[0].number("b").unwrap_err().to_string(),
            "t.csv line 2: column b: \"nan\" must be a finite number"
        );
        assert_eq!(
            rows[0].number("c").unwrap_err().to_string(),
            "t.csv line 2: column c: \"x\" is not a number"
        );
        assert_eq!(rows[1].positive("a").unwrap(), Some(1000.0));
        assert!(rows[1].number("b").is_err());
        assert_eq!(rows[1].number("c").unwrap(), None);
        assert_eq!(
            rows[1].id("c").unwrap_err().to_string(),
            "t.csv line 3: column c: must not be empty"
        );
        assert!(!rows[1].flag("c").unwrap());
        assert!(rows[0].flag("c").is_err());
    }
}
