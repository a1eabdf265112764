//! One string that an XML Schema regular expression (`xs:pattern`) matches: the first
//! alternative of each alternation, the fewest repetitions each quantifier allows, the first
//! character of each class. Used to fill generated instances (mock answers, samples).
//!
//! XML Schema regexes are implicitly anchored and have no back-references or lookaround, so a
//! left-to-right walk is enough. Input is a schema author's, still bounded: the expression is
//! walked once and the output capped.

/// Longest string produced (a pattern like `\d{100000}` gives up instead of allocating).
const MAX_OUTPUT_CHARS: usize = 4096;

/// A string matched by `pattern`, or `None` when the expression is beyond this walk (a class
/// subtraction, an unbalanced group) or the result would be too long. With `length`, open
/// quantifiers repeat more, left to right, to reach that many characters where the pattern lets
/// them (so `[1-9]\d+` with length 4 gives `1111`).
pub fn example(pattern: &str, length: Option<usize>) -> Option<String> {
    let chars: Vec<char> = pattern.chars().collect();
    let walk = |extra: usize| {
        let mut w = Walk {
            chars: &chars,
            at: 0,
            extra,
        };
        let out = w.alternation()?;
        (w.at == chars.len() && out.chars().count() <= MAX_OUTPUT_CHARS).then_some(out)
    };
    let shortest = walk(0)?;
    match length.map(|l| l.min(MAX_OUTPUT_CHARS)) {
        Some(want) if want > shortest.chars().count() => {
            walk(want - shortest.chars().count()).or(Some(shortest))
        }
        _ => Some(shortest),
    }
}

struct Walk<'a> {
    chars: &'a [char],
    at: usize,
    /// Characters still to add by repeating open quantifiers more than their minimum.
    extra: usize,
}

impl Walk<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.at += 1;
        Some(c)
    }

    /// `a|b|c`: the first branch; the others are skipped but must parse.
    fn alternation(&mut self) -> Option<String> {
        let first = self.branch()?;
        while self.peek() == Some('|') {
            self.at += 1;
            self.branch()?;
        }
        Some(first)
    }

    fn branch(&mut self) -> Option<String> {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let atom = self.atom()?;
            let (least, most) = self.quantifier()?;
            let width = atom.chars().count();
            let room = most.map_or(usize::MAX, |m| m.saturating_sub(least));
            let more = self.extra.checked_div(width).unwrap_or(0).min(room);
            self.extra -= more * width;
            let times = least + more;
            if out.chars().count() + atom.chars().count() * times > MAX_OUTPUT_CHARS {
                return None;
            }
            for _ in 0..times {
                out.push_str(&atom);
            }
        }
        Some(out)
    }

    fn atom(&mut self) -> Option<String> {
        match self.next()? {
            '(' => {
                let inner = self.alternation()?;
                (self.next()? == ')').then_some(inner)
            }
            '[' => self.class().map(String::from),
            '\\' => self.escape().map(String::from),
            '.' => Some("a".into()),
            c => Some(c.to_string()),
        }
    }

    /// The repetitions allowed, fewest and most (`None`: unbounded).
    fn quantifier(&mut self) -> Option<(usize, Option<usize>)> {
        let bounds = match self.peek() {
            Some('?') => (0, Some(1)),
            Some('*') => (0, None),
            Some('+') => (1, None),
            Some('{') => {
                self.at += 1;
                let least = self.number()?;
                let most = if self.peek() == Some(',') {
                    self.at += 1;
                    if self.peek() == Some('}') {
                        None
                    } else {
                        Some(self.number()?)
                    }
                } else {
                    Some(least)
                };
                return (self.next()? == '}').then_some((least, most));
            }
            _ => return Some((1, Some(1))),
        };
        self.at += 1;
        Some(bounds)
    }

    fn number(&mut self) -> Option<usize> {
        let mut digits = String::new();
        while let Some(c) = self.peek().filter(|c| c.is_ascii_digit()) {
            digits.push(c);
            self.at += 1;
        }
        digits.parse().ok()
    }

    /// A character for `\x`: the escaped character itself or one of the class.
    fn escape(&mut self) -> Option<char> {
        let letter = self.next()?;
        Some(match letter {
            'd' => '1',
            's' => ' ',
            'w' | 'D' | 'S' | 'i' | 'c' => 'a',
            'W' | 'C' => ' ',
            'I' => '1',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'p' | 'P' => {
                // \p{Lu} and friends: a character of the category (of another one for \P).
                if self.next()? != '{' {
                    return None;
                }
                let mut category = String::new();
                loop {
                    match self.next()? {
                        '}' => break,
                        c => category.push(c),
                    }
                }
                let member = match category.as_str() {
                    "Lu" => 'A',
                    c if c.starts_with('N') => '1',
                    c if c.starts_with('Z') => ' ',
                    c if c.starts_with('P') => '.',
                    _ => 'a',
                };
                if letter == 'P' {
                    if member == 'a' {
                        '1'
                    } else {
                        'a'
                    }
                } else {
                    member
                }
            }
            c => c,
        })
    }

    /// `[...]`: the first member (for a negated class, a common character outside it).
    fn class(&mut self) -> Option<char> {
        let negated = self.peek() == Some('^');
        if negated {
            self.at += 1;
        }
        let mut ranges: Vec<(char, char)> = Vec::new();
        let mut first_item = true;
        loop {
            let c = self.next()?;
            match c {
                ']' if !first_item => break,
                '[' => return None, // class subtraction: beyond this walk
                _ => {}
            }
            first_item = false;
            let lo = if c == '\\' { self.escape()? } else { c };
            if self.peek() == Some('-')
                && self
                    .chars
                    .get(self.at + 1)
                    .is_some_and(|n| *n != ']' && *n != '[')
            {
                self.at += 1;
                let hi = match self.next()? {
                    '\\' => self.escape()?,
                    h => h,
                };
                ranges.push((lo, hi));
            } else {
                ranges.push((lo, lo));
            }
        }
        if !negated {
            return ranges.first().map(|r| r.0);
        }
        ['a', '1', 'А', 'x', '0', 'Z']
            .into_iter()
            .find(|c| !ranges.iter().any(|(lo, hi)| lo <= c && c <= hi))
    }
}

#[cfg(test)]
mod tests {
    use super::example;

    #[test]
    fn patterns_from_vs_packages() {
        let cases = [
            (r"[125]{1}\d{12}", Some("1111111111111")),
            (
                r"([0-9]{1}[1-9]{1}|[1-9]{1}[0-9]{1})[0-9]{8}",
                Some("0100000000"),
            ),
            (r"\d{2}", Some("11")),
            (r"[а-яА-ЯёЁ\-0-9][а-яА-ЯёЁ\-\s'',.]*", Some("а")),
            (r"[IVXLCDM]{1,3}[\-][А-Я]{2}", Some("I-АА")),
            (r"[0-9]{11}|[0-9]{15}", Some("00000000000")),
            (r"[^0-9]+", Some("a")),
            (r"\p{Lu}{2}", Some("AA")),
            (r"\P{L}", Some("1")),
            (r"(ab", None),
            (r"[a-z-[aeiou]]", None),
            (r"\d{100000}", None),
        ];
        for (p, want) in cases {
            assert_eq!(example(p, None).as_deref(), want, "{p}");
        }
    }

    #[test]
    fn open_quantifiers_stretch_to_a_length() {
        let cases = [
            (r"[1-9]\d+", 4, "1111"),
            (r"\d{1,3}-\d{2,}", 8, "111-1111"),
            (r"[А-Я]{2}", 5, "АА"),
        ];
        for (p, length, want) in cases {
            assert_eq!(example(p, Some(length)).as_deref(), Some(want), "{p}");
        }
    }
}
