//! "Did you mean ...?": the closest name within a small edit distance (the rule the whole lab
//! uses, in `hike::suggest`).

pub(crate) use hike::suggest::suggest;
