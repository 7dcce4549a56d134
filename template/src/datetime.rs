//! `now()` and the `strftime` filter (Python's datetime/time semantics).

use std::sync::Arc;

use chrono::{DateTime, Datelike, FixedOffset, Local, TimeZone, Timelike, Utc};
use minijinja::value::{Object, Rest, Value, ValueKind, ValueOrKwargs};
use minijinja::{Environment, Error, ErrorKind, State};

use crate::filters::Args;

/// A Python `datetime.datetime` (naive, like Ansible's `now()`).
#[derive(Debug, Clone)]
pub(crate) struct PyDateTime(pub DateTime<FixedOffset>);

impl PyDateTime {
    fn py_str(&self) -> String {
        let d = &self.0;
        let base = d.format("%Y-%m-%d %H:%M:%S").to_string();
        let us = d.nanosecond() / 1000;
        if us == 0 {
            base
        } else {
            format!("{base}.{us:06}")
        }
    }
}

impl Object for PyDateTime {
    fn repr(self: &Arc<Self>) -> minijinja::value::ObjectRepr {
        minijinja::value::ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let d = &self.0;
        Some(Value::from(match key.as_str()? {
            "year" => d.year() as i64,
            "month" => d.month() as i64,
            "day" => d.day() as i64,
            "hour" => d.hour() as i64,
            "minute" => d.minute() as i64,
            "second" => d.second() as i64,
            "microsecond" => (d.nanosecond() / 1000) as i64,
            _ => return None,
        }))
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "strftime" => {
                let fmt = args.first().and_then(|f| f.as_str()).unwrap_or("");
                Ok(Value::from(strftime(&self.0, fmt)))
            }
            "isoformat" => Ok(Value::from(self.py_str().replacen(' ', "T", 1))),
            "timestamp" => Ok(Value::from(
                self.0.timestamp() as f64 + f64::from(self.0.nanosecond()) / 1e9,
            )),
            "weekday" => Ok(Value::from(self.0.weekday().num_days_from_monday() as i64)),
            "isoweekday" => Ok(Value::from(self.0.weekday().number_from_monday() as i64)),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.py_str())
    }
}

fn strftime(d: &DateTime<FixedOffset>, fmt: &str) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    // chrono panics on invalid specifiers inside Display: validate via items
    let items: Vec<chrono::format::Item> = chrono::format::StrftimeItems::new(fmt).collect();
    if items
        .iter()
        .any(|i| matches!(i, chrono::format::Item::Error))
    {
        return fmt.to_string();
    }
    let _ = write!(out, "{}", d.format_with_items(items.into_iter()));
    out
}

fn local_now(utc: bool) -> DateTime<FixedOffset> {
    if utc {
        Utc::now().fixed_offset()
    } else {
        Local::now().fixed_offset()
    }
}

fn now(args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let a = Args::new(args.0.into_iter().map(Value::from).collect());
    let d = local_now(a.flag(0, "utc"));
    match a.str(1, "fmt") {
        Some(fmt) => Ok(Value::from(strftime(&d, &fmt))),
        None => Ok(Value::from_object(PyDateTime(d))),
    }
}

fn f_strftime(_: &State, v: Value, rest: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let a = Args::new(rest.0.into_iter().map(Value::from).collect());
    let fmt = crate::filters::to_s(&v)?;
    let utc = a.flag(1, "utc");
    let d = match a.get(0, "second").filter(|s| !s.is_none()) {
        Some(s) => {
            let secs = match s.kind() {
                ValueKind::String => s.as_str().and_then(|x| x.trim().parse::<f64>().ok()),
                _ => f64::try_from(s.clone()).ok(),
            }
            .ok_or_else(|| {
                crate::error::ferr(format!(
                    "Invalid value for epoch value ({})",
                    crate::pyrepr::py_str(&s)
                ))
            })?;
            let dt = Utc
                .timestamp_opt(secs.trunc() as i64, (secs.fract() * 1e9) as u32)
                .single()
                .ok_or_else(|| crate::error::ferr("Invalid value for epoch value"))?;
            if utc {
                dt.fixed_offset()
            } else {
                dt.with_timezone(&Local).fixed_offset()
            }
        }
        None => local_now(utc),
    };
    Ok(Value::from(strftime(&d, &fmt)))
}

pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_function("now", now);
    env.add_filter("strftime", f_strftime);
}

pub(crate) fn as_datetime_str(v: &Value) -> Option<String> {
    v.downcast_object_ref::<PyDateTime>()
        .map(PyDateTime::py_str)
}
