//! A tiny driver for trying the compiler by hand: `cargo run -p eclat --example eclatc -- FILE [asm|c|tokens|ast] [-D N=V]...`
//! (the real command is `eclat-lab compile`). Uses the reference catalog.
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: eclatc FILE [asm|c|tokens|ast] [-D NAME=VALUE]...");
        std::process::exit(2);
    };
    let src = std::fs::read_to_string(path).unwrap_or_else(|e| {
        eprintln!("{path}: {e}");
        std::process::exit(2)
    });
    let mut emit = "asm";
    let mut defines = Vec::new();
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        if a == "-D" {
            if let Some(d) = it.next().and_then(|d| eclat::parse_define(d)) {
                defines.push(d);
            }
        } else {
            emit = a;
        }
    }
    let catalog = hike::catalog::Catalog::reference();
    match emit {
        "tokens" => print!(
            "{}",
            eclat::lexer::dump(&eclat::lexer::lex(&src, &defines).0)
        ),
        "ast" => {
            let (t, mut d) = eclat::lexer::lex(&src, &defines);
            print!("{}", eclat::ast::dump(&eclat::parser::parse(&t, &mut d)));
        }
        _ => {
            let c = eclat::compile(&src, path, &catalog, &defines);
            eprint!(
                "{}",
                c.render(&src, path, std::env::var_os("NO_COLOR").is_none())
            );
            if let Some(p) = c.output {
                print!(
                    "{}",
                    if emit == "c" {
                        p.emit_c()
                    } else {
                        p.emit_asm()
                    }
                );
            } else {
                std::process::exit(1);
            }
        }
    }
}
