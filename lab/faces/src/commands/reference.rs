//! The command reference's JSON part, from the types themselves: for every command, the
//! fields of its `--json` result with their types and the doc comments of the structs that
//! hold them (JSON Schema through schemars). `eclat-lab dev reference` prints it; the book's
//! command page shows it under each command's usage, so the documented field names are the
//! ones the code serializes.

use schemars::{JsonSchema, schema_for};
use serde::Serialize;
use serde_json::Value;

use super::reply::*;

/// One field of a command's JSON result.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Field {
    /// the path of the field: `rows[].key`
    pub field: String,
    /// JSON type(s): `string`, `integer`, `object`, `array of object`, ...
    #[serde(rename = "type")]
    pub ty: String,
    /// its doc comment
    pub about: String,
}

/// One command of `dev reference`.
#[derive(Debug, Clone, Serialize)]
pub struct CommandJson {
    /// `topo up`
    pub command: String,
    /// every field of its `--json` result, nested ones included; empty for a command without
    /// a reply type here (a test forbids that)
    pub fields: Vec<Field>,
}

fn fields_of<T: JsonSchema>() -> Vec<Field> {
    let schema = schema_for!(T);
    let root = schema.as_value();
    let mut out = Vec::new();
    walk(root, root, "", 0, &mut out);
    out
}

/// A `classroom` command's fields, then those of its `--vms` form (marked so in `about`).
fn with_vms(mut server: Vec<Field>, vms: Vec<Field>) -> Vec<Field> {
    server.extend(vms.into_iter().map(|f| Field {
        about: format!("with --vms: {}", f.about),
        ..f
    }));
    server
}

/// The reply type of each leaf command (by its words).
fn schema_fields(path: &[&str]) -> Option<Vec<Field>> {
    use eclat_course::CheckReport;
    use eclat_course::devcheck::DevReport;
    use eclat_kernel::topo::{DownReport, Status};
    use eclat_kernel::xdp::AttachReport;
    use eclat_service::ResetReport;
    use eclat_service::chains::ChainDis;
    use eclat_service::doctor::DoctorReport;
    use eclat_service::exec::ExecResult;
    use eclat_service::maps::{Cleared, MapDeleted, MapDump, MapSet, WatchEnd};
    use eclat_service::modules::{BuildReport, ModuleList, ModuleLoaded, ModuleUnloaded};
    use eclat_service::scripts::{LoadReport, UnloadReport};
    use eclat_service::topo::TopoUp;
    use eclat_service::trace::TraceSummary;
    use eclat_service::traffic::Report as TrafficReport;
    use eclat_service::xdp::{Detached, XdpList, XdpLoaded, XdpUnloaded};
    Some(match path {
        ["doctor"] => fields_of::<DoctorReport>(),
        ["topo", "up"] => fields_of::<TopoUp>(),
        ["topo", "down"] => fields_of::<DownReport>(),
        ["topo", "status"] => fields_of::<Status>(),
        ["topo", "list"] => fields_of::<Topologies>(),
        ["topo", "draw"] => fields_of::<TopoDrawn>(),
        ["exec"] => fields_of::<ExecResult>(),
        ["traffic"] => fields_of::<TrafficReport>(),
        ["xdp", "load"] => fields_of::<XdpLoaded>(),
        ["xdp", "attach"] => fields_of::<AttachReport>(),
        ["xdp", "detach"] => fields_of::<Detached>(),
        ["xdp", "unload"] => fields_of::<XdpUnloaded>(),
        ["xdp", "list"] => fields_of::<XdpList>(),
        ["cube", "add"] => fields_of::<eclat_service::cubes::CubeAdded>(),
        ["cube", "connect"] => fields_of::<eclat_service::cubes::Connected>(),
        ["cube", "disconnect"] => fields_of::<eclat_service::cubes::CubeDisconnected>(),
        ["cube", "attach"] => fields_of::<AttachReport>(),
        ["cube", "del"] => fields_of::<eclat_service::cubes::CubeRemoved>(),
        ["cube", "show"] => fields_of::<eclat_service::cubes::CubeList>(),
        ["cube", "graph"] => fields_of::<CubeGraphed>(),
        ["map", "list"] => fields_of::<Maps>(),
        ["map", "dump"] | ["read-map"] => fields_of::<MapDump>(),
        ["map", "watch"] => fields_of::<WatchEnd>(),
        ["map", "set"] => fields_of::<MapSet>(),
        ["map", "delete"] => fields_of::<MapDeleted>(),
        ["map", "clear"] => fields_of::<Cleared>(),
        ["module", "build"] => fields_of::<BuildReport>(),
        ["module", "load"] => fields_of::<ModuleLoaded>(),
        ["module", "unload"] => fields_of::<ModuleUnloaded>(),
        ["module", "list"] => fields_of::<ModuleList>(),
        ["compile"] => fields_of::<CompileReply>(),
        ["load"] => fields_of::<LoadReport>(),
        ["unload"] => fields_of::<UnloadReport>(),
        ["test"] => fields_of::<Tested>(),
        ["chain", "list"] => fields_of::<Chains>(),
        ["chain", "dis"] => fields_of::<ChainDis>(),
        ["chain", "trace"] => fields_of::<TraceSummary>(),
        ["chain", "draw"] => fields_of::<ChainDrawn>(),
        ["dev", "check"] => fields_of::<DevReport>(),
        ["lesson", "list"] => fields_of::<Lessons>(),
        ["lesson", "show"] => fields_of::<LessonText>(),
        ["lesson", "check"] => fields_of::<CheckReport>(),
        ["lesson", "hint"] => fields_of::<Hint>(),
        ["lesson", "reset"] => fields_of::<ExerciseReset>(),
        ["lesson", "solution"] => fields_of::<Solution>(),
        ["lesson", "solve"] => fields_of::<Solved>(),
        ["reset"] => fields_of::<ResetReport>(),
        ["bench"] => fields_of::<crate::bench::BenchReport>(),
        ["classroom", "up"] => with_vms(
            fields_of::<eclat_service::classroom::ClassroomUp>(),
            fields_of::<eclat_service::vm_classroom::VmClassroomUp>(),
        ),
        ["classroom", "down"] => with_vms(
            fields_of::<eclat_service::classroom::ClassroomDown>(),
            fields_of::<eclat_service::vm_classroom::VmClassroomDown>(),
        ),
        ["classroom", "status"] => fields_of::<eclat_service::classroom::ClassroomStatus>(),
        _ => return None,
    })
}

/// What a streaming command prints as JSON lines while it runs.
fn update_fields() -> Vec<Field> {
    fields_of::<Update>()
}

/// Resolves `$ref` (`#/$defs/Name`) against the root.
fn deref<'a>(root: &'a Value, s: &'a Value) -> &'a Value {
    match s.get("$ref").and_then(Value::as_str) {
        Some(r) => r
            .strip_prefix("#/$defs/")
            .and_then(|n| root.get("$defs")?.get(n))
            .map(|t| deref(root, t))
            .unwrap_or(s),
        None => s,
    }
}

/// A schema's type in a few words.
fn type_of(root: &Value, s: &Value) -> String {
    let s = deref(root, s);
    if let Some(alts) = s
        .get("anyOf")
        .or_else(|| s.get("oneOf"))
        .and_then(Value::as_array)
    {
        // an enum whose variants have doc comments is one alternative per value: list the
        // values, not `string or string ...`
        let mut values = Vec::new();
        let mut v = Vec::new();
        for a in alts {
            let a = deref(root, a);
            match (a.get("const"), a.get("enum").and_then(Value::as_array)) {
                (Some(c), _) => values.push(c.to_string()),
                (None, Some(e)) => values.extend(e.iter().map(Value::to_string)),
                (None, None) => v.push(type_of(root, a)),
            }
        }
        if !values.is_empty() {
            v.insert(0, format!("one of {}", values.join(", ")));
        }
        v.dedup();
        return v.join(" or ");
    }
    if let Some(c) = s.get("const") {
        return c.to_string();
    }
    if let Some(e) = s.get("enum").and_then(Value::as_array) {
        let names: Vec<String> = e.iter().map(|x| x.to_string()).collect();
        return format!("one of {}", names.join(", "));
    }
    match s.get("type") {
        Some(Value::String(t)) if t == "array" => match s.get("items") {
            Some(i) if i.is_object() => format!("array of {}", type_of(root, i)),
            Some(Value::Array(items)) => format!(
                "[{}]",
                items
                    .iter()
                    .map(|i| type_of(root, i))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            _ => match s.get("prefixItems").and_then(Value::as_array) {
                Some(items) => format!(
                    "[{}]",
                    items
                        .iter()
                        .map(|i| type_of(root, i))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                None => "array".into(),
            },
        },
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" or "),
        _ if s.get("properties").is_some() => "object".into(),
        _ => "any".into(),
    }
}

fn about(s: &Value) -> String {
    s.get("description")
        .and_then(Value::as_str)
        .unwrap_or("")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The fields of an object schema, and of the objects inside it (arrays as `name[]`), down
/// to the leaves (the deepest reply today nests five levels: `lesson solve`'s
/// `check.results[].explanation.source.line`; the bound only stops a recursive type).
fn walk(root: &Value, s: &Value, prefix: &str, depth: usize, out: &mut Vec<Field>) {
    let s = deref(root, s);
    if depth > 6 {
        return;
    }
    // an enum of objects (`#[serde(untagged)]` replies, tagged events): each alternative
    for key in ["oneOf", "anyOf"] {
        if let Some(alts) = s.get(key).and_then(Value::as_array) {
            for a in alts {
                walk(root, a, prefix, depth, out);
            }
            return;
        }
    }
    let Some(props) = s.get("properties").and_then(Value::as_object) else {
        return;
    };
    for (name, p) in props {
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        let pd = deref(root, p);
        // the tag of a tagged enum (`tier`, `type`): its value names the variant, so the
        // variant's doc comment says what the value means
        let tag = pd.get("const").filter(|_| about(p).is_empty()).map(|c| {
            let variant = about(s);
            let value = c
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| c.to_string());
            (
                c.to_string(),
                (!variant.is_empty()).then(|| format!("`{value}`: {variant}")),
            )
        });
        if let Some(seen) = out.iter_mut().find(|f| f.field == path) {
            // the same tag in the next alternative: one more value
            if let Some((value, meaning)) = tag {
                let values = seen.ty.strip_prefix("one of ").unwrap_or(&seen.ty);
                seen.ty = format!("one of {values}, {value}");
                seen.about = match meaning {
                    Some(m) if !seen.about.is_empty() => format!("{}; {m}", seen.about),
                    _ => String::new(),
                };
            }
            continue;
        }
        let mut desc = about(p);
        if desc.is_empty() {
            desc = about(pd);
        }
        if let Some((_, meaning)) = &tag {
            desc = meaning.clone().unwrap_or_default();
        }
        out.push(Field {
            field: path.clone(),
            ty: type_of(root, p),
            about: desc,
        });
        if pd.get("properties").is_some() || pd.get("oneOf").is_some() {
            walk(root, pd, &path, depth + 1, out);
        } else if let Some(items) = pd.get("items").filter(|i| i.is_object()) {
            walk(root, items, &format!("{path}[]"), depth + 1, out);
        } else if let Some(alts) = pd.get("anyOf").and_then(Value::as_array) {
            // Option<T>: the T
            for a in alts {
                let a = deref(root, a);
                if a.get("properties").is_some() {
                    walk(root, a, &path, depth + 1, out);
                }
            }
        }
    }
}

/// Every leaf command (by its words), from the clap table.
pub fn leaf_commands() -> Vec<Vec<String>> {
    use clap::CommandFactory;
    fn go(c: &clap::Command, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        let subs: Vec<&clap::Command> = c
            .get_subcommands()
            .filter(|s| s.get_name() != "help")
            .collect();
        if subs.is_empty() {
            out.push(path.clone());
        }
        for s in subs {
            path.push(s.get_name().to_string());
            go(s, path, out);
            path.pop();
        }
    }
    let mut out = Vec::new();
    go(&super::Cli::command(), &mut Vec::new(), &mut out);
    out.retain(|p| !matches!(p.first().map(String::as_str), Some("tutorial" | "shell")));
    out
}

/// The JSON reference of every command, and of the streamed updates.
pub fn reference() -> Value {
    let commands: Vec<CommandJson> = leaf_commands()
        .into_iter()
        .filter(|p| p.as_slice() != ["dev", "reference"])
        .map(|p| {
            let words: Vec<&str> = p.iter().map(String::as_str).collect();
            CommandJson {
                command: p.join(" "),
                fields: schema_fields(&words).unwrap_or_default(),
            }
        })
        .collect();
    serde_json::json!({ "commands": commands, "updates": update_fields() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_documents_its_json() {
        for p in leaf_commands() {
            if p.as_slice() == ["dev", "reference"] {
                continue;
            }
            let words: Vec<&str> = p.iter().map(String::as_str).collect();
            let fields = schema_fields(&words)
                .unwrap_or_else(|| panic!("`{}` has no reply type in reference.rs", p.join(" ")));
            assert!(!fields.is_empty(), "`{}`: no fields", p.join(" "));
        }
    }

    /// Every field a command's `--json` result (or a streamed update) has says what it is:
    /// the book's command reference prints these, and scripts rely on them.
    #[test]
    fn every_field_of_every_result_is_described() {
        let r = reference();
        let mut missing = Vec::new();
        let fields = |v: &Value| -> Vec<(String, String, String)> {
            v.as_array()
                .into_iter()
                .flatten()
                .map(|f| {
                    let s = |k: &str| f[k].as_str().unwrap_or("").to_string();
                    (s("field"), s("type"), s("about"))
                })
                .collect()
        };
        for c in r["commands"].as_array().expect("commands") {
            let command = c["command"].as_str().unwrap_or("?");
            for (field, ty, about) in fields(&c["fields"]) {
                if about.trim().is_empty() {
                    missing.push(format!("`{command}`: `{field}` ({ty})"));
                }
            }
        }
        for (field, ty, about) in fields(&r["updates"]) {
            if about.trim().is_empty() {
                missing.push(format!("streamed updates: `{field}` ({ty})"));
            }
        }
        assert!(
            missing.is_empty(),
            "{} field(s) of the commands' JSON results have no description; write a `///` \
             comment on the field (or the enum variant) that serializes it, saying what the \
             value is, its unit and when it is empty or null:\n  {}",
            missing.len(),
            missing.join("\n  ")
        );
    }

    #[test]
    fn nested_fields_are_listed_down_to_the_leaves() {
        let f = schema_fields(&["lesson", "solve"]).unwrap();
        let leaf = "check.results[].explanation.source.line";
        assert!(f.iter().any(|x| x.field == leaf), "{leaf} missing");
    }

    /// An enum's values are listed in the type, and a tag field is described by its variants.
    #[test]
    fn enums_list_their_values() {
        let f = schema_fields(&["chain", "list"]).unwrap();
        let tag = f.iter().find(|x| x.field == "chains[].tier.tier").unwrap();
        assert_eq!(tag.ty, r#"one of "compiled", "interpreted""#, "{tag:?}");
        assert!(tag.about.starts_with("`compiled`: "), "{tag:?}");
        assert!(tag.about.contains("; `interpreted`: "), "{tag:?}");
        let f = schema_fields(&["map", "dump"]).unwrap();
        let per_cpu = f.iter().find(|x| x.field == "per_cpu").unwrap();
        assert_eq!(per_cpu.ty, r#"one of "no", "summed", "each_cpu""#);
    }

    #[test]
    fn fields_name_what_the_json_has() {
        let f = schema_fields(&["map", "dump"]).unwrap();
        let names: Vec<&str> = f.iter().map(|x| x.field.as_str()).collect();
        for want in [
            "map",
            "map.name",
            "per_cpu",
            "rows",
            "rows[].key",
            "rows[].value",
        ] {
            assert!(names.contains(&want), "{want} missing from {names:?}");
        }
        let key = f.iter().find(|x| x.field == "rows[].key_text").unwrap();
        assert!(key.about.contains("BTF"), "{key:?}");
        // and the JSON of a real dump has exactly those top-level names
        let d = eclat_service::maps::MapDump {
            map: eclat_service::maps::MapRef {
                name: "lab/xdp_counter/pkt_count".into(),
                path: "/nonexistent".into(),
                map_type: "array".into(),
                key_size: 4,
                value_size: 8,
                max_entries: 1,
                id: 1,
            },
            key_type: None,
            value_type: None,
            per_cpu: eclat_service::maps::PerCpu::No,
            rows: vec![],
        };
        let v = serde_json::to_value(&d).unwrap();
        for k in v.as_object().unwrap().keys() {
            assert!(names.contains(&k.as_str()), "{k} is not documented");
        }
    }
}
