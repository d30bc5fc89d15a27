//! Typed access to the columns of a scanned record batch.

use super::*;

/// One record batch of a scan, with typed column access; errors name the table and column.
pub struct BatchColumns<'a> {
    pub(super) table: &'a str,
    pub(super) batch: &'a RecordBatch,
}

/// A string column (Utf8, LargeUtf8 or Utf8View).
pub enum Strings<'a> {
    /// `Utf8`.
    Utf8(&'a arrow_array::StringArray),
    /// `LargeUtf8`.
    Large(&'a arrow_array::LargeStringArray),
    /// `Utf8View`.
    View(&'a arrow_array::StringViewArray),
}

impl Strings<'_> {
    /// The value at `row`; `None` when null.
    pub fn get(&self, row: usize) -> Option<&str> {
        match self {
            Strings::Utf8(a) => a.is_valid(row).then(|| a.value(row)),
            Strings::Large(a) => a.is_valid(row).then(|| a.value(row)),
            Strings::View(a) => a.is_valid(row).then(|| a.value(row)),
        }
    }
}

/// A `map<string, binary>` headers column.
pub struct HeaderColumn<'a> {
    map: &'a MapArray,
    keys: Strings<'a>,
    values: Bytes<'a>,
}

enum Bytes<'a> {
    Binary(&'a arrow_array::BinaryArray),
    Large(&'a arrow_array::LargeBinaryArray),
    View(&'a arrow_array::BinaryViewArray),
    Text(Strings<'a>),
}

impl Bytes<'_> {
    fn get(&self, i: usize) -> Option<&[u8]> {
        match self {
            Bytes::Binary(a) => a.is_valid(i).then(|| a.value(i)),
            Bytes::Large(a) => a.is_valid(i).then(|| a.value(i)),
            Bytes::View(a) => a.is_valid(i).then(|| a.value(i)),
            Bytes::Text(s) => s.get(i).map(str::as_bytes),
        }
    }
}

impl HeaderColumn<'_> {
    /// The headers of `row` (empty when the map is null).
    pub fn row(&self, row: usize) -> RowHeaders {
        if self.map.is_null(row) {
            return RowHeaders::default();
        }
        let offsets = self.map.value_offsets();
        let (Some(start), Some(end)) = (offsets.get(row), offsets.get(row + 1)) else {
            return RowHeaders::default();
        };
        let (start, end) = (
            usize::try_from(*start).unwrap_or(0),
            usize::try_from(*end).unwrap_or(0),
        );
        RowHeaders(
            (start..end)
                .filter_map(|i| {
                    let key = self.keys.get(i)?;
                    Some((key.to_owned(), self.values.get(i).map(<[u8]>::to_vec)))
                })
                .collect(),
        )
    }
}

impl<'a> BatchColumns<'a> {
    /// Rows in the batch.
    pub fn rows(&self) -> usize {
        self.batch.num_rows()
    }

    /// The whole batch.
    pub fn batch(&self) -> &'a RecordBatch {
        self.batch
    }

    fn invalid(&self, what: String) -> LakehouseError {
        LakehouseError::Invalid {
            table: self.table.to_owned(),
            what,
        }
    }

    /// The column `name`.
    pub fn column(&self, name: &str) -> Result<&'a ArrayRef> {
        self.batch
            .column_by_name(name)
            .ok_or_else(|| self.invalid(format!("the scan returned no column `{name}`")))
    }

    /// The string column `name`.
    pub fn strings(&self, name: &str) -> Result<Strings<'a>> {
        strings_of(self.column(name)?).ok_or_else(|| self.wrong_type(name, "a string"))
    }

    /// The primitive column `name` of arrow type `T` (timestamps: any zone).
    pub fn primitive<T: ArrowPrimitiveType>(&self, name: &str) -> Result<&'a PrimitiveArray<T>> {
        self.column(name)?
            .as_primitive_opt::<T>()
            .ok_or_else(|| self.wrong_type(name, std::any::type_name::<T>()))
    }

    /// The `map<string, binary>` column `name`.
    pub fn headers(&self, name: &str) -> Result<HeaderColumn<'a>> {
        let wrong = || self.wrong_type(name, "map<string, binary>");
        let map = self.column(name)?.as_map_opt().ok_or_else(wrong)?;
        let keys = strings_of(map.keys()).ok_or_else(wrong)?;
        let values = map.values();
        let values = if let Some(a) = values.as_binary_opt::<i32>() {
            Bytes::Binary(a)
        } else if let Some(a) = values.as_binary_opt::<i64>() {
            Bytes::Large(a)
        } else if let Some(a) = values.as_binary_view_opt() {
            Bytes::View(a)
        } else {
            Bytes::Text(strings_of(values).ok_or_else(wrong)?)
        };
        Ok(HeaderColumn { map, keys, values })
    }

    fn wrong_type(&self, name: &str, wanted: &str) -> LakehouseError {
        let actual = self
            .batch
            .schema_ref()
            .field_with_name(name)
            .map(|f| f.data_type().to_string())
            .unwrap_or_default();
        self.invalid(format!("column `{name}` is {actual}, expected {wanted}"))
    }

    /// The string at `row`, which the schema says is never null.
    pub fn required<'s>(&self, column: &'s Strings<'_>, name: &str, row: usize) -> Result<&'s str> {
        column
            .get(row)
            .ok_or_else(|| self.invalid(format!("row {row}: required column `{name}` is null")))
    }

    /// The value at `row`, which the schema says is never null.
    pub fn required_value<T: ArrowPrimitiveType>(
        &self,
        column: &PrimitiveArray<T>,
        name: &str,
        row: usize,
    ) -> Result<T::Native> {
        value_at(column, row)
            .ok_or_else(|| self.invalid(format!("row {row}: required column `{name}` is null")))
    }
}

fn strings_of(array: &ArrayRef) -> Option<Strings<'_>> {
    if let Some(a) = array.as_string_opt::<i32>() {
        Some(Strings::Utf8(a))
    } else if let Some(a) = array.as_string_opt::<i64>() {
        Some(Strings::Large(a))
    } else {
        array.as_string_view_opt().map(Strings::View)
    }
}

/// The value at `row`; `None` when null or out of range.
pub fn value_at<T: ArrowPrimitiveType>(
    column: &PrimitiveArray<T>,
    row: usize,
) -> Option<T::Native> {
    (row < column.len() && column.is_valid(row)).then(|| column.value(row))
}
