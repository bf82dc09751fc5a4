//! The template functions that need only their arguments, one line each in [`FUNCTIONS`]
//! (matched case-insensitively, as ARM matches them). `if`, `parameters` and `variables` are
//! evaluated by the caller (`if` lazily); the world's functions come from the `Context`.

use base64::Engine as _;
use serde_json::{Map, Value, json};

use super::{TemplateError, arity, cidr, hash, invalid, type_name};

type R = Result<Value, TemplateError>;
pub type Function = fn(&[Value]) -> R;

#[rustfmt::skip]
pub static FUNCTIONS: &[(&str, Function)] = &[
    // ---- strings
    ("concat", concat),
    ("format", format),
    ("toLower", |a| Ok(json!(string1("toLower", a)?.to_lowercase()))),
    ("toUpper", |a| Ok(json!(string1("toUpper", a)?.to_uppercase()))),
    ("trim", |a| Ok(json!(string1("trim", a)?.trim()))),
    ("startsWith", |a| { let (s, p) = strings2("startsWith", a)?; Ok(json!(s.to_lowercase().starts_with(&p.to_lowercase()))) }),
    ("endsWith", |a| { let (s, p) = strings2("endsWith", a)?; Ok(json!(s.to_lowercase().ends_with(&p.to_lowercase()))) }),
    ("indexOf", |a| index_of("indexOf", a, false)),
    ("lastIndexOf", |a| index_of("lastIndexOf", a, true)),
    ("replace", replace),
    ("split", split),
    ("join", join),
    ("substring", substring),
    ("padLeft", pad_left),
    ("base64", |a| Ok(json!(base64::engine::general_purpose::STANDARD.encode(string1("base64", a)?)))),
    ("base64ToString", base64_to_string),
    ("uriComponent", |a| Ok(json!(uri_component(string1("uriComponent", a)?)))),
    ("uriComponentToString", |a| Ok(json!(uri_decode(string1("uriComponentToString", a)?)))),
    ("uri", uri),
    ("dataUri", |a| { let s = match a { [Value::String(s)] => s.clone(), [v] => v.to_string(), _ => return Err(arity("dataUri", "1")) }; Ok(json!(format!("data:text/plain;charset=utf8;base64,{}", base64::engine::general_purpose::STANDARD.encode(s)))) }),
    ("dataUriToString", data_uri_to_string),
    ("uniqueString", |a| Ok(json!(hash::unique_string(&dashed("uniqueString", a)?)))),
    ("guid", |a| Ok(json!(hash::guid(&dashed("guid", a)?)))),
    ("string", |a| match a { [Value::String(s)] => Ok(json!(s)), [Value::Bool(b)] => Ok(json!(if *b { "True" } else { "False" })), [v] => Ok(json!(v.to_string())), _ => Err(arity("string", "1")) }),
    // ---- values
    ("int", int),
    ("bool", boolean),
    ("json", |a| serde_json::from_str(string1("json", a)?).map_err(|e| invalid(format!("The template language function 'json' could not parse the provided value: {e}")))),
    ("createArray", |a| Ok(Value::Array(a.to_vec()))),
    ("array", |a| match a { [Value::Array(x)] => Ok(Value::Array(x.clone())), [v] => Ok(json!([v])), _ => Err(arity("array", "1")) }),
    ("createObject", create_object),
    ("coalesce", |a| Ok(a.iter().find(|v| !v.is_null()).cloned().unwrap_or(Value::Null))),
    ("null", |a| if a.is_empty() { Ok(Value::Null) } else { Err(arity("null", "0")) }),
    ("true", |a| if a.is_empty() { Ok(json!(true)) } else { Err(arity("true", "0")) }),
    ("false", |a| if a.is_empty() { Ok(json!(false)) } else { Err(arity("false", "0")) }),
    // ---- logic and comparison
    ("equals", |a| match a { [x, y] => Ok(json!(equals(x, y))), _ => Err(arity("equals", "2")) }),
    ("not", |a| Ok(json!(!bools("not", a, 1)?[0]))),
    ("and", |a| Ok(json!(bools("and", a, 2)?.iter().all(|b| *b)))),
    ("or", |a| Ok(json!(bools("or", a, 2)?.iter().any(|b| *b)))),
    ("greater", |a| compare("greater", a, |o| o.is_gt())),
    ("greaterOrEquals", |a| compare("greaterOrEquals", a, |o| o.is_ge())),
    ("less", |a| compare("less", a, |o| o.is_lt())),
    ("lessOrEquals", |a| compare("lessOrEquals", a, |o| o.is_le())),
    // ---- arrays and objects
    ("empty", |a| match a { [v] => Ok(json!(match v { Value::Null => true, Value::String(s) => s.is_empty(), Value::Array(x) => x.is_empty(), Value::Object(m) => m.is_empty(), _ => false })), _ => Err(arity("empty", "1")) }),
    ("length", length),
    ("contains", contains),
    ("first", |a| match a { [Value::Array(x)] => Ok(x.first().cloned().unwrap_or(Value::Null)), [Value::String(s)] => Ok(json!(s.chars().next().map(String::from).unwrap_or_default())), _ => Err(arity("first", "1")) }),
    ("last", |a| match a { [Value::Array(x)] => Ok(x.last().cloned().unwrap_or(Value::Null)), [Value::String(s)] => Ok(json!(s.chars().last().map(String::from).unwrap_or_default())), _ => Err(arity("last", "1")) }),
    ("skip", |a| take_skip("skip", a, false)),
    ("take", |a| take_skip("take", a, true)),
    ("union", union),
    ("intersection", intersection),
    ("range", range),
    ("objectKeys", |a| match a { [Value::Object(m)] => Ok(json!(m.keys().collect::<Vec<_>>())), [v] => Err(wrong_type("objectKeys", "Object", v)), _ => Err(arity("objectKeys", "1")) }),
    ("flatten", |a| match a { [Value::Array(x)] => x.iter().try_fold(Vec::new(), |mut out, v| match v { Value::Array(inner) => { out.extend(inner.iter().cloned()); Ok(out) } Value::Null => Ok(out), other => Err(wrong_type("flatten", "Array", other)) }).map(Value::Array), _ => Err(arity("flatten", "1")) }),
    ("shallowMerge", |a| match a { [Value::Array(x)] => union(x), _ => Err(arity("shallowMerge", "1")) }),
    ("items", |a| match a { [Value::Object(m)] => Ok(Value::Array(m.iter().map(|(k, v)| json!({"key": k, "value": v})).collect())), _ => Err(invalid("The template language function 'items' expects its parameter to be an object.")) }),
    ("tryGet", |a| match a { [Value::Object(m), Value::String(k)] => Ok(m.get(k).cloned().unwrap_or(Value::Null)), [Value::Array(x), Value::Number(n)] => Ok(n.as_u64().and_then(|n| x.get(n as usize)).cloned().unwrap_or(Value::Null)), _ => Err(arity("tryGet", "2")) }),
    // ---- CIDR
    ("parseCidr", cidr::parse_cidr),
    ("cidrSubnet", cidr::cidr_subnet),
    ("cidrHost", cidr::cidr_host),
    ("min", |a| extreme("min", a, |x, y| x < y)),
    ("max", |a| extreme("max", a, |x, y| x > y)),
    // ---- arithmetic (64-bit integers; overflow and division by zero are errors)
    ("add", |a| arithmetic("add", a, i64::checked_add)),
    ("sub", |a| arithmetic("sub", a, i64::checked_sub)),
    ("mul", |a| arithmetic("mul", a, i64::checked_mul)),
    ("div", |a| arithmetic("div", a, i64::checked_div)),
    ("mod", |a| arithmetic("mod", a, i64::checked_rem)),
];

fn string1<'a>(name: &str, a: &'a [Value]) -> Result<&'a str, TemplateError> {
    match a {
        [Value::String(s)] => Ok(s),
        [v] => Err(wrong_type(name, "String", v)),
        _ => Err(arity(name, "1")),
    }
}

fn strings2<'a>(name: &str, a: &'a [Value]) -> Result<(&'a str, &'a str), TemplateError> {
    match a {
        [Value::String(s), Value::String(p)] => Ok((s, p)),
        [_, _] => Err(invalid(format!(
            "The template language function '{name}' expects its parameters to be of type 'String'."
        ))),
        _ => Err(arity(name, "2")),
    }
}

fn wrong_type(name: &str, expected: &str, v: &Value) -> TemplateError {
    invalid(format!(
        "The template language function '{name}' expects its parameter to be of type '{expected}'. The provided value is of type '{}'.",
        type_name(v)
    ))
}

fn integer(name: &str, v: &Value) -> Result<i64, TemplateError> {
    v.as_i64().ok_or_else(|| wrong_type(name, "Integer", v))
}

fn char_index(s: &str, byte: Option<usize>) -> i64 {
    byte.map_or(-1, |b| s[..b].chars().count() as i64)
}

fn concat(a: &[Value]) -> R {
    if a.iter().all(Value::is_array) && !a.is_empty() {
        return Ok(Value::Array(a.iter().flat_map(|v| v.as_array().cloned().unwrap_or_default()).collect()));
    }
    let mut out = String::new();
    for v in a {
        match v {
            Value::String(s) => out.push_str(s),
            Value::Array(_) | Value::Object(_) => {
                return Err(invalid(
                    "The template language function 'concat' expects its parameters to be all arrays or all strings, integers and booleans.",
                ));
            }
            Value::Null => {}
            other => out.push_str(&other.to_string()),
        }
    }
    Ok(json!(out))
}

/// `format('{0}-{1}', a, b)`: .NET composite format, the `{n}` items and `{{`/`}}` escapes
/// (format specifiers after `:` are not applied).
fn format(a: &[Value]) -> R {
    let Some((Value::String(f), args)) = a.split_first() else {
        return Err(invalid(
            "The template language function 'format' expects its first parameter to be a format string.",
        ));
    };
    let bad =
        || invalid(format!("The template language function 'format' could not format '{f}': the format is invalid."));
    let mut out = String::new();
    let mut chars = f.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let item: String = chars.by_ref().take_while(|c| *c != '}').collect();
                let index = item.split([':', ',']).next().unwrap_or_default().trim();
                let v = index.parse::<usize>().ok().and_then(|i| args.get(i)).ok_or_else(bad)?;
                match v {
                    Value::String(s) => out.push_str(s),
                    other => out.push_str(&other.to_string()),
                }
            }
            '}' => return Err(bad()),
            c => out.push(c),
        }
    }
    Ok(json!(out))
}

fn replace(a: &[Value]) -> R {
    match a {
        [Value::String(s), Value::String(old), Value::String(new)] if !old.is_empty() => {
            Ok(json!(s.replace(old.as_str(), new)))
        }
        [_, _, _] => {
            Err(invalid("The template language function 'replace' expects three strings, the second not empty."))
        }
        _ => Err(arity("replace", "3")),
    }
}

fn split(a: &[Value]) -> R {
    let (s, seps): (&str, Vec<&str>) = match a {
        [Value::String(s), Value::String(d)] => (s, vec![d.as_str()]),
        [Value::String(s), Value::Array(ds)] => (s, ds.iter().filter_map(Value::as_str).collect()),
        _ => return Err(arity("split", "2")),
    };
    let mut parts = vec![s.to_string()];
    for d in seps.into_iter().filter(|d| !d.is_empty()) {
        parts = parts.iter().flat_map(|p| p.split(d).map(str::to_string).collect::<Vec<_>>()).collect();
    }
    Ok(json!(parts))
}

fn join(a: &[Value]) -> R {
    match a {
        [Value::Array(items), Value::String(d)] => {
            let parts: Vec<String> =
                items.iter().map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string)).collect();
            Ok(json!(parts.join(d)))
        }
        _ => Err(arity("join", "2")),
    }
}

fn substring(a: &[Value]) -> R {
    let (s, start, len) = match a {
        [Value::String(s), start] => (s, integer("substring", start)?, None),
        [Value::String(s), start, len] => (s, integer("substring", start)?, Some(integer("substring", len)?)),
        _ => return Err(arity("substring", "2 or 3")),
    };
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len() as i64;
    let len = len.unwrap_or(n - start);
    if start < 0 || start > n || len < 0 || start + len > n {
        return Err(invalid(format!(
            "The index and length parameters of the template language function 'substring' must refer to a location within the string. The index parameter: '{start}', the length parameter: '{len}', the length of the string parameter: '{n}'."
        )));
    }
    Ok(json!(chars[start as usize..(start + len) as usize].iter().collect::<String>()))
}

fn pad_left(a: &[Value]) -> R {
    let (v, width, pad) = match a {
        [v, w] => (v, integer("padLeft", w)?, ' '),
        [v, w, Value::String(p)] if p.chars().count() == 1 => {
            (v, integer("padLeft", w)?, p.chars().next().unwrap_or(' '))
        }
        _ => return Err(arity("padLeft", "2 or 3")),
    };
    if !(0..=16_384).contains(&width) {
        return Err(invalid("The template language function 'padLeft' expects a total length between 0 and 16384."));
    }
    let s = v.as_str().map_or_else(|| v.to_string(), str::to_string);
    let missing = (width as usize).saturating_sub(s.chars().count());
    Ok(json!(format!("{}{s}", pad.to_string().repeat(missing))))
}

fn base64_to_string(a: &[Value]) -> R {
    let s = string1("base64ToString", a)?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|_| invalid("The template language function 'base64ToString' expects a base64 string."))?;
    String::from_utf8(bytes)
        .map(|t| json!(t))
        .map_err(|_| invalid("The template language function 'base64ToString' expects base64 of UTF-8 text."))
}

fn uri_component(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn int(a: &[Value]) -> R {
    match a {
        [Value::Number(n)] if n.is_i64() => Ok(Value::Number(n.clone())),
        [Value::String(s)] => {
            s.trim().parse::<i64>().map(|n| json!(n)).map_err(|_| {
                invalid(format!("The template language function 'int' cannot convert '{s}' to an integer."))
            })
        }
        [v] => Err(wrong_type("int", "String", v)),
        _ => Err(arity("int", "1")),
    }
}

fn boolean(a: &[Value]) -> R {
    match a {
        [Value::Bool(b)] => Ok(json!(b)),
        [Value::Number(n)] => Ok(json!(n.as_i64() != Some(0))),
        [Value::String(s)] if s.eq_ignore_ascii_case("true") || s == "1" => Ok(json!(true)),
        [Value::String(s)] if s.eq_ignore_ascii_case("false") || s == "0" => Ok(json!(false)),
        [v] => Err(invalid(format!("The template language function 'bool' cannot convert '{v}' to a boolean."))),
        _ => Err(arity("bool", "1")),
    }
}

fn create_object(a: &[Value]) -> R {
    if !a.len().is_multiple_of(2) {
        return Err(invalid("The template language function 'createObject' expects an even number of parameters."));
    }
    let mut m = Map::new();
    for pair in a.chunks(2) {
        let Value::String(k) = &pair[0] else {
            return Err(invalid(
                "The template language function 'createObject' expects its property names to be strings.",
            ));
        };
        m.insert(k.clone(), pair[1].clone());
    }
    Ok(Value::Object(m))
}

/// ARM's equality: strings compare case-sensitively, objects and arrays deeply.
fn equals(x: &Value, y: &Value) -> bool {
    x == y
}

fn bools(name: &str, a: &[Value], at_least: usize) -> Result<Vec<bool>, TemplateError> {
    if a.len() < at_least || (at_least == 1 && a.len() != 1) {
        return Err(arity(name, &at_least.to_string()));
    }
    a.iter().map(|v| v.as_bool().ok_or_else(|| wrong_type(name, "Boolean", v))).collect()
}

fn compare(name: &str, a: &[Value], ok: fn(std::cmp::Ordering) -> bool) -> R {
    let order = match a {
        [Value::Number(x), Value::Number(y)] => x.as_i64().cmp(&y.as_i64()),
        [Value::String(x), Value::String(y)] => x.cmp(y),
        [_, _] => {
            return Err(invalid(format!(
                "The template language function '{name}' expects two integers or two strings."
            )));
        }
        _ => return Err(arity(name, "2")),
    };
    Ok(json!(ok(order)))
}

fn length(a: &[Value]) -> R {
    match a {
        [Value::String(s)] => Ok(json!(s.chars().count())),
        [Value::Array(x)] => Ok(json!(x.len())),
        [Value::Object(m)] => Ok(json!(m.len())),
        [v] => Err(wrong_type("length", "Array", v)),
        _ => Err(arity("length", "1")),
    }
}

fn contains(a: &[Value]) -> R {
    match a {
        [Value::String(s), Value::String(p)] => Ok(json!(s.contains(p.as_str()))),
        [Value::String(s), v] => Ok(json!(s.contains(&v.to_string()))),
        [Value::Array(x), v] => Ok(json!(x.contains(v))),
        [Value::Object(m), Value::String(k)] => Ok(json!(m.keys().any(|x| x.eq_ignore_ascii_case(k)))),
        [_, _] => Err(invalid(
            "The template language function 'contains' expects a string, array or object as its first parameter.",
        )),
        _ => Err(arity("contains", "2")),
    }
}

fn take_skip(name: &str, a: &[Value], take: bool) -> R {
    let [v, n] = a else { return Err(arity(name, "2")) };
    let n = integer(name, n)?.max(0) as usize;
    match v {
        Value::Array(x) => {
            let n = n.min(x.len());
            Ok(Value::Array(if take { x[..n].to_vec() } else { x[n..].to_vec() }))
        }
        Value::String(s) => {
            let it = s.chars();
            Ok(json!(if take { it.take(n).collect::<String>() } else { it.skip(n).collect::<String>() }))
        }
        other => Err(wrong_type(name, "Array", other)),
    }
}

/// `union`: arrays without duplicates, in order; objects merged, the last value winning, nested
/// objects merged the same way (ARM merges them deeply; nested arrays are not merged).
fn union(a: &[Value]) -> R {
    fn merge(into: &mut Map<String, Value>, from: &Map<String, Value>) {
        for (k, x) in from {
            match (into.get_mut(k), x) {
                (Some(Value::Object(mine)), Value::Object(theirs)) => merge(mine, theirs),
                _ => {
                    into.insert(k.clone(), x.clone());
                }
            }
        }
    }
    if a.iter().all(Value::is_object) && !a.is_empty() {
        let mut m = Map::new();
        for v in a {
            if let Value::Object(o) = v {
                merge(&mut m, o);
            }
        }
        return Ok(Value::Object(m));
    }
    if a.iter().all(Value::is_array) && !a.is_empty() {
        let mut out: Vec<Value> = Vec::new();
        for x in a.iter().flat_map(|v| v.as_array().into_iter().flatten()) {
            if !out.contains(x) {
                out.push(x.clone());
            }
        }
        return Ok(Value::Array(out));
    }
    Err(invalid("The template language function 'union' expects its parameters to be all arrays or all objects."))
}

fn intersection(a: &[Value]) -> R {
    match a.split_first() {
        Some((Value::Object(first), rest)) if rest.iter().all(Value::is_object) && !rest.is_empty() => {
            let m: Map<String, Value> = first
                .iter()
                .filter(|(k, v)| rest.iter().all(|o| o.get(k.as_str()) == Some(v)))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            Ok(Value::Object(m))
        }
        Some((Value::Array(first), rest)) if rest.iter().all(Value::is_array) && !rest.is_empty() => {
            let mut out: Vec<Value> = Vec::new();
            for x in first {
                if rest.iter().all(|o| o.as_array().is_some_and(|o| o.contains(x))) && !out.contains(x) {
                    out.push(x.clone());
                }
            }
            Ok(Value::Array(out))
        }
        _ => Err(invalid("The template language function 'intersection' expects at least two arrays or two objects.")),
    }
}

/// ARM's `range(start, count)`: at most 10,000 integers.
fn range(a: &[Value]) -> R {
    let [start, count] = a else { return Err(arity("range", "2")) };
    let (start, count) = (integer("range", start)?, integer("range", count)?);
    if !(0..=10_000).contains(&count) || start.checked_add(count).is_none() {
        return Err(invalid(format!(
            "The template language function 'range' count '{count}' is out of range: it must be between 0 and 10000."
        )));
    }
    Ok(Value::Array((start..start + count).map(Value::from).collect()))
}

fn extreme(name: &str, a: &[Value], better: fn(i64, i64) -> bool) -> R {
    let items: Vec<&Value> = match a {
        [Value::Array(x)] => x.iter().collect(),
        _ => a.iter().collect(),
    };
    let mut best: Option<i64> = None;
    for v in items {
        let n = integer(name, v)?;
        if best.is_none_or(|b| better(n, b)) {
            best = Some(n);
        }
    }
    best.map(Value::from).ok_or_else(|| arity(name, "at least 1"))
}

fn arithmetic(name: &str, a: &[Value], op: fn(i64, i64) -> Option<i64>) -> R {
    let [x, y] = a else { return Err(arity(name, "2")) };
    let (x, y) = (integer(name, x)?, integer(name, y)?);
    op(x, y).map(Value::from).ok_or_else(|| {
        invalid(format!(
            "The template language function '{name}' could not compute {x} and {y}: overflow or division by zero."
        ))
    })
}

/// The arguments of `uniqueString` / `guid`, which must be strings, joined with `-`.
fn dashed(name: &str, a: &[Value]) -> Result<String, TemplateError> {
    if a.is_empty() {
        return Err(arity(name, "at least 1"));
    }
    let parts: Vec<&str> = a
        .iter()
        .map(|v| {
            v.as_str().ok_or_else(|| {
                invalid(format!(
                    "The template language function '{name}' expects its parameters to be of type string. The provided value is of type '{}'.",
                    type_name(v)
                ))
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(parts.join("-"))
}

/// `indexOf` / `lastIndexOf`: a string in a string (case-insensitively, in characters), or an
/// item in an array; -1 when absent.
fn index_of(name: &str, a: &[Value], last: bool) -> R {
    match a {
        [Value::Array(items), v] => {
            let found = if last { items.iter().rposition(|x| x == v) } else { items.iter().position(|x| x == v) };
            Ok(json!(found.map_or(-1, |i| i as i64)))
        }
        _ => {
            let (s, p) = strings2(name, a)?;
            let (s, p) = (s.to_lowercase(), p.to_lowercase());
            let at = if last { s.rfind(&p) } else { s.find(&p) };
            Ok(json!(char_index(&s, at)))
        }
    }
}

/// `uri(base, relative)`: the relative URI resolved against the base as .NET's `Uri` does for the
/// common cases (an absolute relative part wins; a leading `/` replaces the path; otherwise the
/// base's last segment is replaced).
fn uri(a: &[Value]) -> R {
    let (base, rel) = strings2("uri", a)?;
    if rel.contains("://") {
        return Ok(json!(rel));
    }
    let Some(scheme_end) = base.find("://") else {
        return Err(invalid(format!(
            "The template language function 'uri' expects an absolute base URI: '{base}' is not."
        )));
    };
    let authority_end = base[scheme_end + 3..].find('/').map_or(base.len(), |i| scheme_end + 3 + i);
    if rel.starts_with('/') {
        return Ok(json!(format!("{}{rel}", &base[..authority_end])));
    }
    let path = &base[authority_end..];
    let dir = path.rfind('/').map_or("/", |i| &path[..=i]);
    Ok(json!(format!("{}{dir}{rel}", &base[..authority_end])))
}

fn uri_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(h) = s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(h);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn data_uri_to_string(a: &[Value]) -> R {
    let s = string1("dataUriToString", a)?;
    let bad = || invalid(format!("The template language function 'dataUriToString' expects a data URI: '{s}' is not."));
    let rest = s.strip_prefix("data:").ok_or_else(bad)?;
    let (meta, data) = rest.split_once(',').ok_or_else(bad)?;
    if meta.ends_with(";base64") {
        let bytes = base64::engine::general_purpose::STANDARD.decode(data).map_err(|_| bad())?;
        Ok(json!(String::from_utf8_lossy(&bytes)))
    } else {
        Ok(json!(uri_decode(data)))
    }
}
