//! Random values in every field of a topology file: the parser never panics, refuses with
//! a line and column, and what it accepts the kernel can build as written (interface names
//! valid as they are, node names the lab's namespaces can carry).

use eclat_model::topology::{self, IFNAME_MAX, valid_ifname};
use proptest::prelude::*;

/// Hostile and ordinary values for a string field.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("x%d".to_string()),
        Just("%s%n".to_string()),
        Just(".".to_string()),
        Just("..".to_string()),
        Just("lo".to_string()),
        Just("a/b".to_string()),
        Just("a:b".to_string()),
        Just("tab\there".to_string()),
        Just("new\nline".to_string()),
        Just("é0".to_string()),
        Just("eth0".to_string()),
        Just("sut".to_string()),
        Just("fd00::1/64".to_string()),
        Just("10.0.0.1/33".to_string()),
        Just("fd00::1/129".to_string()),
        Just("02:00:00:00:00:01".to_string()),
        Just("ff:ff:ff:ff:ff:ff".to_string()),
        Just("02:00:00:00:00".to_string()),
        Just("18446744073709551616".to_string()),
        Just("net.ipv4.ip_forward".to_string()),
        Just("net.../../kernel".to_string()),
        "[a-z0-9%:/._-]{0,20}",
        any::<String>(),
        "x{16,40}",
    ]
}

fn table(pairs: Vec<(&str, toml::Value)>) -> toml::Value {
    toml::Value::Table(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

fn s(v: &str) -> toml::Value {
    toml::Value::String(v.to_string())
}

/// A two-node, one-link, one-route topology with `v[i]` in field i.
fn file(v: &[String]) -> String {
    let end = |node: &str, dev: &str, mac: &str, addr: &str, xdp: Option<&str>| {
        let mut t = vec![
            ("node", s(node)),
            ("dev", s(dev)),
            ("mac", s(mac)),
            ("addresses", toml::Value::Array(vec![s(addr)])),
        ];
        if let Some(x) = xdp {
            t.push(("xdp", s(x)));
        }
        table(t)
    };
    let mut sysctls = toml::Table::new();
    sysctls.insert(v[9].clone(), s(&v[10]));
    let doc = table(vec![
        ("name", s(&v[0])),
        (
            "node",
            toml::Value::Array(vec![
                table(vec![("name", s(&v[1]))]),
                table(vec![
                    ("name", s(&v[2])),
                    ("sysctls", toml::Value::Table(sysctls)),
                ]),
            ]),
        ),
        (
            "link",
            toml::Value::Array(vec![table(vec![
                ("a", end(&v[1], &v[3], &v[4], &v[5], None)),
                ("b", end(&v[2], &v[6], &v[7], &v[8], Some(&v[11]))),
            ])]),
        ),
        (
            "route",
            toml::Value::Array(vec![table(vec![
                ("node", s(&v[1])),
                ("to", s(&v[12])),
                ("via", s(&v[13])),
            ])]),
        ),
    ]);
    toml::to_string(&doc).unwrap()
}

fn check(src: &str) {
    match topology::parse(src, "t.toml") {
        Ok(t) => {
            for l in &t.links {
                for e in [&l.a, &l.b] {
                    assert!(valid_ifname(&e.dev), "accepted interface {:?}", e.dev);
                    assert!(e.dev.len() <= IFNAME_MAX);
                }
            }
            for n in &t.nodes {
                assert!(
                    !n.name.is_empty() && n.name.len() <= 12 && n.name.is_ascii(),
                    "accepted node {:?}",
                    n.name
                );
                for (k, _) in &n.sysctls {
                    assert!(k.starts_with("net.") && !k.contains("..") && !k.contains('/'));
                }
            }
        }
        Err(e) => {
            assert!(e.line >= 1 && e.col >= 1, "{e}");
            assert!(!e.message.is_empty());
            assert!(e.to_string().contains("t.toml"), "{e}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("HIKE_PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(512)
    ))]

    #[test]
    fn any_field_value_is_parsed_or_refused_with_a_place(
        v in proptest::collection::vec(value(), 14)
    ) {
        check(&file(&v));
    }

    /// Bytes of a valid file changed at random: still no panic.
    #[test]
    fn any_edit_of_a_file_is_parsed_or_refused_with_a_place(
        at in any::<prop::sample::Index>(),
        junk in any::<String>(),
        cut in 0usize..8,
    ) {
        let base = file(&[
            "pair", "left", "right", "eth0", "02:00:00:00:00:01", "fd00::1/64", "eth0",
            "02:00:00:00:00:02", "fd00::2/64", "net.ipv4.ip_forward", "1", "xdp_pass",
            "fd01::/64", "fd00::2",
        ].map(String::from));
        let mut i = at.index(base.len() + 1);
        while !base.is_char_boundary(i) {
            i -= 1;
        }
        let mut j = (i + cut).min(base.len());
        while !base.is_char_boundary(j) {
            j -= 1;
        }
        let src = format!("{}{junk}{}", &base[..i], &base[j..]);
        check(&src);
    }
}
