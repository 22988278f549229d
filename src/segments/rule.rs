//! The segment rule language, as community managers write it:
//!
//! ```text
//! tier = "dormant" and asset_tier in ("gold", "private") and not tag("房贷客户")
//! (following = true or phone_bound = true) and inactive_days >= 30
//! did(content_view, category = "mortgage", days = 30)
//! count(page_view, page = "pages/quiz/index", days = 7) >= 3 and participated("q4-2026-thanks")
//! ```
//!
//! `and` binds tighter than `or`; `not` tighter than both; parentheses group. Fields: `tier` (new, active,
//! dormant), `asset_tier`, `following`, `phone_bound`, `joined_days`, `inactive_days`. Tests: `tag("..")`,
//! `participated("campaign")`, `did(event, filter = "..", days = N)` and `count(...) <op> N`. Events: the views
//! pages report (`page_view`, `content_view`: filters page, category, content, campaign) and what the
//! domains record (`quiz_passed`, `coupon_used`, ...: filters campaign, subject). A rule that does not parse is
//! refused with the character where it went wrong.

use std::fmt;

use crate::behaviour::matching::ViewKind;
use crate::outbox::EventKind;
use crate::users::attributes::Tier;

/// Rules longer than this are refused: a segment is a sentence, not a program.
pub const MAX_RULE_CHARS: usize = 2_000;
/// Parentheses and `not`s nested deeper than this are refused (the parser recurses).
const MAX_DEPTH: usize = 16;
/// Tests in one rule, at most: each becomes a subquery.
const MAX_TESTS: usize = 40;
/// The longest "in the last N days" a rule may ask (three years: beyond any retention).
pub const MAX_DAYS: u32 = 1_095;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// The character (from 1) where the rule went wrong.
    pub at: usize,
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at character {}: {}", self.at, self.message)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    pub fn holds(self, left: u64, right: u64) -> bool {
        match self {
            Cmp::Eq => left == right,
            Cmp::Ne => left != right,
            Cmp::Lt => left < right,
            Cmp::Le => left <= right,
            Cmp::Gt => left > right,
            Cmp::Ge => left >= right,
        }
    }

    pub fn negated(self) -> Cmp {
        match self {
            Cmp::Eq => Cmp::Ne,
            Cmp::Ne => Cmp::Eq,
            Cmp::Lt => Cmp::Ge,
            Cmp::Le => Cmp::Gt,
            Cmp::Gt => Cmp::Le,
            Cmp::Ge => Cmp::Lt,
        }
    }
}

/// Which events a `did` or `count` counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventSource {
    View(ViewKind),
    Recorded(EventKind),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    pub source: EventSource,
    /// (filter, value): page, category, content, campaign (views); campaign, subject (recorded events).
    pub filters: Vec<(String, String)>,
    /// Only the last N days; `None`: any time still kept.
    pub days: Option<u32>,
}

impl Activity {
    pub fn filter(&self, name: &str) -> Option<&str> {
        self.filters
            .iter()
            .find(|(filter, _)| filter == name)
            .map(|(_, value)| value.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Test {
    Tier(Vec<Tier>),
    AssetTier(Vec<String>),
    Following(bool),
    PhoneBound(bool),
    /// Days since first seen.
    JoinedDays(Cmp, u32),
    /// Days since last active.
    InactiveDays(Cmp, u32),
    Tag(String),
    /// Any event or view of the campaign (by slug).
    Participated(String),
    /// How many matching events, compared with a number (`did(...)` is `count(...) >= 1`).
    Count(Activity, Cmp, u32),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    All(Vec<Rule>),
    Any(Vec<Rule>),
    Not(Box<Rule>),
    Test(Test),
}

impl Rule {
    /// Every test of the rule, depth first.
    pub fn tests(&self) -> Vec<&Test> {
        match self {
            Rule::All(rules) | Rule::Any(rules) => rules.iter().flat_map(Rule::tests).collect(),
            Rule::Not(rule) => rule.tests(),
            Rule::Test(test) => vec![test],
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Text(String),
    Number(u64),
    Open,
    Close,
    Comma,
    Compare(Cmp),
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Token::Word(word) => format!("`{word}`"),
            Token::Text(text) => format!("\"{text}\""),
            Token::Number(n) => n.to_string(),
            Token::Open => "`(`".into(),
            Token::Close => "`)`".into(),
            Token::Comma => "`,`".into(),
            Token::Compare(_) => "a comparison".into(),
        }
    }
}

fn tokenize(rule: &str) -> Result<Vec<(usize, Token)>, RuleError> {
    let chars: Vec<char> = rule.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    let error = |at: usize, message: &str| RuleError {
        at: at + 1,
        message: message.to_owned(),
    };
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let token = match c {
            '(' => {
                i += 1;
                Token::Open
            }
            ')' => {
                i += 1;
                Token::Close
            }
            ',' => {
                i += 1;
                Token::Comma
            }
            '=' => {
                i += if chars.get(i + 1) == Some(&'=') { 2 } else { 1 };
                Token::Compare(Cmp::Eq)
            }
            '!' if chars.get(i + 1) == Some(&'=') => {
                i += 2;
                Token::Compare(Cmp::Ne)
            }
            '<' | '>' => {
                let or_equal = chars.get(i + 1) == Some(&'=');
                i += if or_equal { 2 } else { 1 };
                Token::Compare(match (c, or_equal) {
                    ('<', false) => Cmp::Lt,
                    ('<', true) => Cmp::Le,
                    ('>', false) => Cmp::Gt,
                    _ => Cmp::Ge,
                })
            }
            '"' => {
                let mut text = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(error(start, "this text has no closing quote")),
                        Some('"') => {
                            i += 1;
                            break;
                        }
                        Some('\\') if matches!(chars.get(i + 1), Some('"' | '\\')) => {
                            text.push(chars[i + 1]);
                            i += 2;
                        }
                        Some(c) if c.is_control() => {
                            return Err(error(i, "text may not hold control characters"))
                        }
                        Some(c) => {
                            text.push(*c);
                            i += 1;
                        }
                    }
                }
                Token::Text(text)
            }
            c if c.is_ascii_digit() => {
                while chars.get(i).is_some_and(char::is_ascii_digit) {
                    i += 1;
                }
                let digits: String = chars[start..i].iter().collect();
                Token::Number(
                    digits
                        .parse()
                        .map_err(|_| error(start, "this number is too large"))?,
                )
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                while chars
                    .get(i)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_')
                {
                    i += 1;
                }
                Token::Word(chars[start..i].iter().collect::<String>().to_lowercase())
            }
            _ => return Err(error(start, &format!("`{c}` has no meaning here"))),
        };
        tokens.push((start + 1, token));
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<(usize, Token)>,
    next: usize,
    end: usize,
    tests: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.next).map(|(_, token)| token)
    }

    fn at(&self) -> usize {
        self.tokens
            .get(self.next)
            .map(|(at, _)| *at)
            .unwrap_or(self.end)
    }

    fn error(&self, message: impl Into<String>) -> RuleError {
        RuleError {
            at: self.at(),
            message: message.into(),
        }
    }

    /// "expected X, found Y" at the current token.
    fn expected(&self, what: &str) -> RuleError {
        match self.peek() {
            Some(token) => self.error(format!("expected {what}, found {}", token.describe())),
            None => self.error(format!("expected {what}, but the rule ends")),
        }
    }

    fn take(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.next).map(|(_, token)| token.clone());
        self.next += 1;
        token
    }

    fn word_is(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w == word)
    }

    fn expect(&mut self, token: Token, what: &str) -> Result<(), RuleError> {
        if self.peek() == Some(&token) {
            self.next += 1;
            Ok(())
        } else {
            Err(self.expected(what))
        }
    }

    fn any(&mut self, depth: usize) -> Result<Rule, RuleError> {
        let mut rules = vec![self.all(depth)?];
        while self.word_is("or") {
            self.next += 1;
            rules.push(self.all(depth)?);
        }
        Ok(if rules.len() == 1 {
            rules.remove(0)
        } else {
            Rule::Any(rules)
        })
    }

    fn all(&mut self, depth: usize) -> Result<Rule, RuleError> {
        let mut rules = vec![self.unary(depth)?];
        while self.word_is("and") {
            self.next += 1;
            rules.push(self.unary(depth)?);
        }
        Ok(if rules.len() == 1 {
            rules.remove(0)
        } else {
            Rule::All(rules)
        })
    }

    fn unary(&mut self, depth: usize) -> Result<Rule, RuleError> {
        if depth >= MAX_DEPTH {
            return Err(self.error(format!("nested deeper than {MAX_DEPTH}")));
        }
        if self.word_is("not") {
            self.next += 1;
            return Ok(Rule::Not(Box::new(self.unary(depth + 1)?)));
        }
        if self.peek() == Some(&Token::Open) {
            self.next += 1;
            let rule = self.any(depth + 1)?;
            self.expect(Token::Close, "`)`")?;
            return Ok(rule);
        }
        self.tests += 1;
        if self.tests > MAX_TESTS {
            return Err(self.error(format!("more than {MAX_TESTS} tests in one rule")));
        }
        self.test()
    }

    fn text(&mut self, what: &str) -> Result<String, RuleError> {
        match self.peek() {
            Some(Token::Text(text)) => {
                let text = text.clone();
                if !(1..=64).contains(&text.chars().count()) {
                    return Err(self.error("a text is 1 to 64 characters"));
                }
                self.next += 1;
                Ok(text)
            }
            _ => Err(self.expected(what)),
        }
    }

    fn number(&mut self, max: u64) -> Result<u32, RuleError> {
        match self.peek() {
            Some(Token::Number(n)) if *n <= max => {
                let n = *n as u32;
                self.next += 1;
                Ok(n)
            }
            Some(Token::Number(_)) => Err(self.error(format!("at most {max}"))),
            _ => Err(self.expected("a number")),
        }
    }

    fn compare(&mut self) -> Result<Cmp, RuleError> {
        match self.peek() {
            Some(Token::Compare(cmp)) => {
                let cmp = *cmp;
                self.next += 1;
                Ok(cmp)
            }
            _ => Err(self.expected("a comparison (=, !=, <, <=, >, >=)")),
        }
    }

    /// A quoted value and where it stands.
    fn placed_text(&mut self) -> Result<(usize, String), RuleError> {
        let at = self.at();
        Ok((at, self.text("a quoted value")?))
    }

    /// `= "a"`, `!= "a"` or `in ("a", "b")`: the values with their places, and whether the test is negated.
    fn one_of(&mut self) -> Result<(Vec<(usize, String)>, bool), RuleError> {
        if self.word_is("in") {
            self.next += 1;
            self.expect(Token::Open, "`(` after `in`")?;
            let mut values = vec![self.placed_text()?];
            while self.peek() == Some(&Token::Comma) {
                self.next += 1;
                values.push(self.placed_text()?);
            }
            self.expect(Token::Close, "`)` or `,`")?;
            return Ok((values, false));
        }
        match self.compare()? {
            Cmp::Eq => Ok((vec![self.placed_text()?], false)),
            Cmp::Ne => Ok((vec![self.placed_text()?], true)),
            _ => Err(RuleError {
                at: self.tokens[self.next - 1].0,
                message: "only =, != or in compare a text".into(),
            }),
        }
    }

    fn boolean(&mut self) -> Result<bool, RuleError> {
        let negate = match self.compare()? {
            Cmp::Eq => false,
            Cmp::Ne => true,
            _ => {
                return Err(RuleError {
                    at: self.tokens[self.next - 1].0,
                    message: "only = or != compare true or false".into(),
                })
            }
        };
        let value = match self.peek() {
            Some(Token::Word(w)) if w == "true" => true,
            Some(Token::Word(w)) if w == "false" => false,
            _ => return Err(self.expected("true or false")),
        };
        self.next += 1;
        Ok(value != negate)
    }

    fn test(&mut self) -> Result<Rule, RuleError> {
        let start = self.at();
        let Some(Token::Word(word)) = self.peek().cloned() else {
            return Err(self.expected("a field, a test or `(`"));
        };
        self.next += 1;
        let test = match word.as_str() {
            "tier" => {
                let (values, negated) = self.one_of()?;
                let tiers = values
                    .iter()
                    .map(|(at, v)| {
                        Tier::parse(v).ok_or_else(|| RuleError {
                            at: *at,
                            message: format!("tier `{v}` is not one of new, active, dormant"),
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                return Ok(negate(Test::Tier(tiers), negated));
            }
            "asset_tier" => {
                let (values, negated) = self.one_of()?;
                let values = values.into_iter().map(|(_, v)| v).collect();
                return Ok(negate(Test::AssetTier(values), negated));
            }
            "following" => Test::Following(self.boolean()?),
            "phone_bound" => Test::PhoneBound(self.boolean()?),
            "joined_days" => {
                let cmp = self.compare()?;
                Test::JoinedDays(cmp, self.number(u64::from(MAX_DAYS))?)
            }
            "inactive_days" => {
                let cmp = self.compare()?;
                Test::InactiveDays(cmp, self.number(u64::from(MAX_DAYS))?)
            }
            "tag" | "participated" => {
                self.expect(Token::Open, &format!("`(` after `{word}`"))?;
                let value = self.text("a quoted value")?;
                self.expect(Token::Close, "`)`")?;
                if word == "tag" {
                    Test::Tag(value)
                } else {
                    Test::Participated(value)
                }
            }
            "did" => Test::Count(self.activity()?, Cmp::Ge, 1),
            "count" => {
                let activity = self.activity()?;
                let cmp = self.compare()?;
                Test::Count(activity, cmp, self.number(1_000_000)?)
            }
            _ => {
                return Err(RuleError {
                    at: start,
                    message: format!(
                    "`{word}` is not a field or a test (tier, asset_tier, following, phone_bound, \
                         joined_days, inactive_days, tag, participated, did, count)"
                ),
                })
            }
        };
        Ok(Rule::Test(test))
    }

    /// `(event, filter = "value", ..., days = N)`.
    fn activity(&mut self) -> Result<Activity, RuleError> {
        self.expect(Token::Open, "`(`")?;
        let at = self.at();
        let Some(Token::Word(name)) = self.take() else {
            self.next -= 1;
            return Err(self.expected("an event name"));
        };
        let source = match ViewKind::parse(&name) {
            Some(kind) => EventSource::View(kind),
            None => match EventKind::parse(&name) {
                Some(kind) => EventSource::Recorded(kind),
                None => {
                    return Err(RuleError {
                        at,
                        message: format!("`{name}` is not an event"),
                    })
                }
            },
        };
        let allowed: &[&str] = match source {
            EventSource::View(_) => &["page", "category", "content", "campaign"],
            EventSource::Recorded(_) => &["campaign", "subject"],
        };
        let mut activity = Activity {
            source,
            filters: Vec::new(),
            days: None,
        };
        while self.peek() == Some(&Token::Comma) {
            self.next += 1;
            let at = self.at();
            let Some(Token::Word(filter)) = self.take() else {
                self.next -= 1;
                return Err(self.expected("a filter name or days"));
            };
            self.expect(Token::Compare(Cmp::Eq), "`=`")?;
            let repeated = RuleError {
                at,
                message: format!("`{filter}` is given twice"),
            };
            if filter == "days" {
                if activity.days.is_some() {
                    return Err(repeated);
                }
                let days = self.number(u64::from(MAX_DAYS))?;
                if days == 0 {
                    return Err(RuleError {
                        at,
                        message: "days is at least 1".into(),
                    });
                }
                activity.days = Some(days);
                continue;
            }
            if !allowed.contains(&filter.as_str()) {
                return Err(RuleError {
                    at,
                    message: format!(
                        "`{name}` is filtered by {} or days, not `{filter}`",
                        allowed.join(", ")
                    ),
                });
            }
            if activity.filter(&filter).is_some() {
                return Err(repeated);
            }
            let value = self.text("a quoted value")?;
            activity.filters.push((filter, value));
        }
        self.expect(Token::Close, "`,` or `)`")?;
        Ok(activity)
    }
}

fn negate(test: Test, negated: bool) -> Rule {
    let rule = Rule::Test(test);
    if negated {
        Rule::Not(Box::new(rule))
    } else {
        rule
    }
}

/// Parses a rule; checks its words and shapes (names the database must resolve, such as campaigns, are
/// checked when it is compiled).
pub fn parse(rule: &str) -> Result<Rule, RuleError> {
    let length = rule.chars().count();
    if length > MAX_RULE_CHARS {
        return Err(RuleError {
            at: MAX_RULE_CHARS + 1,
            message: format!("a rule is at most {MAX_RULE_CHARS} characters"),
        });
    }
    let tokens = tokenize(rule)?;
    if tokens.is_empty() {
        return Err(RuleError {
            at: 1,
            message: "the rule is empty".into(),
        });
    }
    let mut parser = Parser {
        tokens,
        next: 0,
        end: length + 1,
        tests: 0,
    };
    let parsed = parser.any(0)?;
    if parser.peek().is_some() {
        return Err(parser.expected("`and`, `or` or the end of the rule"));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn and_binds_tighter_than_or_and_not_tighter_than_both() {
        let rule = parse("following = true or tier = \"new\" and not tag(\"房贷客户\")").unwrap();
        assert_eq!(
            rule,
            Rule::Any(vec![
                Rule::Test(Test::Following(true)),
                Rule::All(vec![
                    Rule::Test(Test::Tier(vec![Tier::New])),
                    Rule::Not(Box::new(Rule::Test(Test::Tag("房贷客户".into())))),
                ]),
            ])
        );
    }

    #[test]
    fn events_with_filters_and_windows() {
        let rule =
            parse("count(page_view, page = \"pages/quiz/index\", days = 7) >= 3 and did(quiz_passed, campaign = \"q4\")")
                .unwrap();
        let Rule::All(parts) = rule else {
            panic!("two parts")
        };
        let Rule::Test(Test::Count(views, Cmp::Ge, 3)) = &parts[0] else {
            panic!("a count")
        };
        assert_eq!(views.source, EventSource::View(ViewKind::PageView));
        assert_eq!(views.filter("page"), Some("pages/quiz/index"));
        assert_eq!(views.days, Some(7));
        let Rule::Test(Test::Count(passes, Cmp::Ge, 1)) = &parts[1] else {
            panic!("did is count >= 1")
        };
        assert_eq!(passes.source, EventSource::Recorded(EventKind::QuizPassed));
    }

    #[test]
    fn a_rule_that_does_not_parse_says_where() {
        for (rule, at, says) in [
            ("", 1, "empty"),
            ("tier = \"sleepy\"", 8, "not one of"),
            ("tier = \"new\" and", 17, "the rule ends"),
            ("following = yes", 13, "true or false"),
            (
                "did(content_view, page = \"a\", flavour = \"x\")",
                31,
                "not `flavour`",
            ),
            (
                "did(quiz_passed, category = \"x\")",
                18,
                "campaign, subject",
            ),
            ("did(spending, days = 3)", 5, "not an event"),
            ("inactive_days >= 5000", 18, "at most"),
            ("tag(\"x\") tag(\"y\")", 10, "`and`, `or`"),
            ("(following = true", 18, "`)`"),
            ("tier = \"new", 8, "closing quote"),
            ("points > 3", 1, "not a field"),
            ("did(page_view, days = 0)", 16, "at least 1"),
            ("joined_days ~ 3", 13, "no meaning"),
        ] {
            let error = parse(rule).expect_err(rule);
            assert_eq!(error.at, at, "{rule}: {error}");
            assert!(error.message.contains(says), "{rule}: {error}");
        }
    }

    #[test]
    fn limits_hold() {
        let deep = format!("{}following = true{}", "(".repeat(20), ")".repeat(20));
        assert!(parse(&deep).unwrap_err().message.contains("nested"));
        let long = vec!["following = true"; 41].join(" and ");
        assert!(parse(&long).unwrap_err().message.contains("more than 40"));
        let huge = "x".repeat(MAX_RULE_CHARS + 1);
        assert!(parse(&huge).unwrap_err().message.contains("at most"));
    }

    #[test]
    fn negations_of_texts_and_booleans() {
        assert_eq!(
            parse("asset_tier != \"gold\"").unwrap(),
            Rule::Not(Box::new(Rule::Test(Test::AssetTier(vec!["gold".into()]))))
        );
        assert_eq!(
            parse("following != true").unwrap(),
            Rule::Test(Test::Following(false))
        );
    }
}
