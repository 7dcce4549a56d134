//! Conversions between `serde_json::Value` and engine values.

use minijinja::value::{Value as MV, ValueKind};
use serde_json::{Map, Number, Value as JV};

use crate::pyrepr::py_str;
use crate::{TemplateError, UNSAFE_KEY, VAULT_KEY};

/// Plain conversion (markers: unsafe → string, vault → its ciphertext map).
pub(crate) fn json_to_mj(v: &JV) -> MV {
    match v {
        JV::Null => MV::from(()),
        JV::Bool(b) => MV::from(*b),
        JV::Number(n) => number_to_mj(n),
        JV::String(s) => MV::from(s.as_str()),
        JV::Array(a) => MV::from(a.iter().map(json_to_mj).collect::<Vec<_>>()),
        JV::Object(m) => {
            if m.len() == 1 {
                if let Some(JV::String(s)) = m.get(UNSAFE_KEY) {
                    return MV::from(s.as_str());
                }
            }
            MV::from_pairs(m.iter().map(|(k, v)| (MV::from(k.as_str()), json_to_mj(v))))
        }
    }
}

pub(crate) fn number_to_mj(n: &Number) -> MV {
    if let Some(i) = n.as_i64() {
        MV::from(i)
    } else if let Some(u) = n.as_u64() {
        MV::from(u)
    } else {
        MV::from(n.as_f64().unwrap_or(f64::NAN))
    }
}

/// Converts an engine value back; undefined values are an error.
pub(crate) fn mj_to_json(v: &MV) -> Result<JV, TemplateError> {
    Ok(match v.kind() {
        ValueKind::Undefined => return Err(TemplateError::undefined("undefined value in result")),
        ValueKind::None => JV::Null,
        ValueKind::Bool => JV::Bool(v.is_true()),
        ValueKind::Number => {
            if v.is_integer() {
                if let Ok(i) = i64::try_from(v.clone()) {
                    JV::from(i)
                } else if let Ok(u) = u64::try_from(v.clone()) {
                    JV::from(u)
                } else {
                    let f = f64::try_from(v.clone()).unwrap_or(f64::NAN);
                    Number::from_f64(f).map(JV::Number).unwrap_or(JV::Null)
                }
            } else {
                let f = f64::try_from(v.clone()).unwrap_or(f64::NAN);
                match Number::from_f64(f) {
                    Some(n) => JV::Number(n),
                    None => JV::String(crate::pyrepr::float_repr(f)),
                }
            }
        }
        ValueKind::String => JV::String(v.as_str().unwrap_or_default().to_string()),
        ValueKind::Bytes => {
            JV::String(String::from_utf8_lossy(v.as_bytes().unwrap_or_default()).into_owned())
        }
        ValueKind::Seq | ValueKind::Iterable => {
            let mut out = Vec::new();
            if let Ok(it) = v.try_iter() {
                for item in it {
                    out.push(mj_to_json(&item)?);
                }
            }
            JV::Array(out)
        }
        ValueKind::Map => {
            let mut out = Map::new();
            if let Ok(it) = v.try_iter() {
                for k in it {
                    let val = v.get_item(&k).unwrap_or_default();
                    let key = match k.as_str() {
                        Some(s) => s.to_string(),
                        None => py_str(&k),
                    };
                    out.insert(key, mj_to_json(&val)?);
                }
            }
            JV::Object(out)
        }
        _ => JV::String(v.to_string()),
    })
}

/// Wraps every string in `v` as unsafe.
pub(crate) fn wrap_unsafe(v: JV) -> JV {
    match v {
        JV::String(s) => {
            let mut m = Map::new();
            m.insert(UNSAFE_KEY.to_string(), JV::String(s));
            JV::Object(m)
        }
        JV::Array(a) => JV::Array(a.into_iter().map(wrap_unsafe).collect()),
        JV::Object(m) => {
            if m.len() == 1 && (m.contains_key(UNSAFE_KEY) || m.contains_key(VAULT_KEY)) {
                return JV::Object(m);
            }
            JV::Object(m.into_iter().map(|(k, v)| (k, wrap_unsafe(v))).collect())
        }
        other => other,
    }
}
