//! The admin API's request bodies: a JSON object whose every field is checked by name, so a
//! bad body is answered with `400` and the field that is wrong.

use serde_json::{Map, Value};

/// A body refused: what is wrong and with which field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct BodyError {
    pub field: String,
    pub message: String,
}

fn refuse(field: &str, message: impl Into<String>) -> BodyError {
    BodyError {
        field: field.to_owned(),
        message: format!("{field}: {}", message.into()),
    }
}

/// A JSON object with only the fields an endpoint takes.
pub(super) struct Body(Map<String, Value>);

/// A body may hold a password: `Debug` names its fields only.
impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

impl Body {
    /// An empty body is `{}`.
    pub(super) fn parse(bytes: &[u8], allowed: &[&str]) -> Result<Self, BodyError> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Body(Map::new()));
        }
        let value: Value = serde_json::from_slice(bytes).map_err(|e| BodyError {
            field: "body".into(),
            message: format!("the body is not JSON: {e}"),
        })?;
        let Value::Object(map) = value else {
            return Err(BodyError {
                field: "body".into(),
                message: "the body must be a JSON object".into(),
            });
        };
        if let Some(unknown) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(refuse(
                unknown,
                format!("unknown field; this endpoint takes {}", allowed.join(", ")),
            ));
        }
        Ok(Body(map))
    }

    pub(super) fn string(&self, field: &str) -> Result<Option<&str>, BodyError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(refuse(field, "must be a string")),
        }
    }

    pub(super) fn required(&self, field: &str) -> Result<&str, BodyError> {
        self.string(field)?
            .ok_or_else(|| refuse(field, "is required"))
    }

    pub(super) fn bool(&self, field: &str) -> Result<bool, BodyError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(refuse(field, "must be true or false")),
        }
    }

    pub(super) fn strings(&self, field: &str) -> Result<Vec<String>, BodyError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Value::String(s) => Ok(s.clone()),
                    _ => Err(refuse(field, "must be a list of strings")),
                })
                .collect(),
            Some(_) => Err(refuse(field, "must be a list of strings")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_names_its_field() {
        let allowed = ["name", "totp", "groups"];
        let field = |body: &str| Body::parse(body.as_bytes(), &allowed).unwrap_err().field;
        assert_eq!(field("[1]"), "body");
        assert_eq!(field("{nope"), "body");
        assert_eq!(field(r#"{"nme":"a"}"#), "nme");
        let body = Body::parse(br#"{"name":5,"totp":"yes","groups":[1]}"#, &allowed).unwrap();
        assert_eq!(body.string("name").unwrap_err().field, "name");
        assert_eq!(body.bool("totp").unwrap_err().field, "totp");
        assert_eq!(body.strings("groups").unwrap_err().field, "groups");
        let empty = Body::parse(b"", &allowed).unwrap();
        assert_eq!(
            empty.required("name").unwrap_err().message,
            "name: is required"
        );
        assert!(!empty.bool("totp").unwrap());
    }
}
