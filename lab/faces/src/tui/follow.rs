//! The lesson text follows the step: where in the text each step is explained, found from
//! the step's declared section (a heading) or from where the text shows the step's command.

use eclat_course::lessons::{Lesson, Step};

use super::markdown::{Block, Inline};

fn plain(i: &Inline) -> String {
    i.iter().map(|(s, _)| s.as_str()).collect()
}

fn block_text(b: &Block) -> String {
    match b {
        Block::Heading(_, t) | Block::Para { text: t, .. } => plain(t),
        Block::Code(lines) => lines.join("\n"),
        Block::Table(rows) => rows
            .iter()
            .flat_map(|r| r.iter().map(plain))
            .collect::<Vec<_>>()
            .join(" "),
        Block::Rule | Block::Blank => String::new(),
    }
}

/// Spaces collapsed, so a command matches however the text wraps or aligns it.
fn squeeze(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Does `text` name step `n` ("Step 4 sends", "steps 4 and 5", "(steps 6 to 8)", "steps 6-8")?
fn names_step(text: &str, n: usize) -> bool {
    let words: Vec<&str> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    for (i, w) in words.iter().enumerate() {
        if !(w.eq_ignore_ascii_case("step") || w.eq_ignore_ascii_case("steps")) {
            continue;
        }
        // the numbers after it, and whether they are a range ("to", or "6-8" split to 6 8)
        let mut nums = Vec::new();
        let mut range = false;
        for x in &words[i + 1..] {
            if let Ok(k) = x.parse::<usize>() {
                nums.push(k);
            } else if *x == "to" {
                range = true;
            } else if *x != "and" && *x != "or" {
                break;
            }
        }
        let dash = nums.len() == 2 && !range && text.contains(&format!("{}-{}", nums[0], nums[1]));
        let hit = match nums.as_slice() {
            [a, b] if range || dash => (*a..=*b).contains(&n),
            list => list.contains(&n),
        };
        if hit {
            return true;
        }
    }
    false
}

/// The step's command as the text would show it without its arguments: its words up to
/// the first option or path (`chain trace` for `chain trace --seconds 10`).
fn command_words(run: &str) -> Option<String> {
    let words: Vec<&str> = run
        .split_whitespace()
        .take_while(|w| !w.starts_with('-') && !w.contains('/') && !w.starts_with('~'))
        .collect();
    (words.len() >= 2).then(|| words.join(" "))
}

/// The block where the text about step `n` (0-based) begins, at or after block `from`.
fn anchor_of(n: usize, step: &Step, blocks: &[Block], from: usize) -> Option<usize> {
    if let Some(sec) = &step.section {
        let want = squeeze(sec).to_lowercase();
        return blocks.iter().position(
            |b| matches!(b, Block::Heading(_, t) if squeeze(&plain(t)).to_lowercase() == want),
        );
    }
    let texts: Vec<String> = blocks.iter().map(|b| squeeze(&block_text(b))).collect();
    // where the text says "Step 4", else where it shows the step's command (as `sudo
    // eclat-lab ...` in a code block, or inline)
    let hit = (from..blocks.len())
        .find(|&i| !matches!(blocks[i], Block::Code(_)) && names_step(&texts[i], n + 1))
        .or_else(|| {
            let run = squeeze(step.run.as_deref()?);
            (from..blocks.len()).find(|&i| texts[i].contains(&run))
        })
        .or_else(|| {
            let cmd = command_words(step.run.as_deref()?)?;
            (from..blocks.len()).find(|&i| texts[i].contains(&cmd))
        })?;
    // start at the section's heading when the place is right after it, else at the
    // paragraph that introduces a command
    let head = (from..=hit)
        .rev()
        .find(|&i| matches!(blocks[i], Block::Heading(..)));
    Some(match head {
        Some(h) if hit - h <= 4 => h,
        _ if matches!(blocks[hit], Block::Code(_)) => (from..hit)
            .rev()
            .find(|&i| matches!(blocks[i], Block::Para { .. } | Block::Heading(..)))
            .unwrap_or(hit),
        _ => hit,
    })
}

/// The block the text pane shows at its top for step `step`: the step's own place when it
/// has one, else the place of the nearest step before it that has one. The first step
/// starts at the beginning (the learner reads the lesson from its top) unless it names its
/// section.
pub fn step_anchor(lesson: &Lesson, blocks: &[Block], step: usize) -> usize {
    let mut at = 0;
    for (n, s) in lesson.steps.iter().enumerate().take(step + 1) {
        if n == 0 && s.section.is_none() {
            continue;
        }
        if let Some(b) = anchor_of(n, s, blocks, at) {
            at = b;
        }
    }
    at
}

#[cfg(test)]
mod tests {
    use super::super::markdown::parse;
    use super::*;

    #[test]
    fn every_lesson_text_follows_its_steps_forward() {
        for l in eclat_course::lessons::all() {
            let blocks = parse(&l.text);
            let mut last = 0;
            let mut moved = 0;
            for i in 0..l.steps.len() {
                let a = step_anchor(&l, &blocks, i);
                assert!(a >= last, "lesson {}: step {} goes back", l.number, i + 1);
                if a > last {
                    moved += 1;
                }
                last = a;
                if let Some(sec) = &l.steps[i].section {
                    assert!(
                        matches!(&blocks[a], Block::Heading(_, t) if squeeze(&plain(t)).eq_ignore_ascii_case(&squeeze(sec))),
                        "lesson {} step {}: no heading `{sec}`",
                        l.number,
                        i + 1
                    );
                }
            }
            // a lesson whose text never moves with its steps is one this feature fails
            assert!(
                l.steps.len() < 3 || moved >= 1,
                "lesson {}: the text moves only {moved} times over {} steps; give steps a `section`",
                l.number,
                l.steps.len()
            );
        }
    }

    #[test]
    fn a_step_lands_on_the_section_that_shows_its_command() {
        let l = eclat_course::lessons::find("1").unwrap();
        let blocks = parse(&l.text);
        let i = l
            .steps
            .iter()
            .position(|s| s.run.as_deref() == Some("map set verdict 0 DROP"))
            .unwrap();
        let a = step_anchor(&l, &blocks, i);
        assert!(
            matches!(&blocks[a], Block::Heading(_, t) if plain(t) == "Dropping"),
            "{:?}",
            blocks[a]
        );
        assert_eq!(step_anchor(&l, &blocks, 0), 0);
        assert!(names_step("Load it for real and ping (steps 6 to 8):", 6));
        assert!(!names_step("Step 16 is last", 1));
        assert!(names_step("Load it for real and ping (steps 6 to 8):", 7));
        assert!(names_step("as in steps 6-8 above", 8));
        assert!(!names_step("as in steps 6-8 above", 9));
        assert!(names_step("steps 2 and 4", 4) && !names_step("steps 2 and 4", 3));
        assert_eq!(
            command_words("chain trace --seconds 10").as_deref(),
            Some("chain trace")
        );
        assert_eq!(command_words("traffic --from tg"), None);
    }
}
